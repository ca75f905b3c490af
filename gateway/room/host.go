package room

import (
	"errors"
	"time"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/session"
)

// Host decides where rooms live when gateways form a cluster (package
// gateway/cluster implements it over NATS). With no Host (Options.Host
// nil) every room lives in this process.
//
// The runtime asks Place before it makes a room; a room placed here runs
// here until it vanishes, the runtime shuts down, or the Host evicts it
// (Runtime.Evict) because another gateway took it over. Every event of a
// placed room first checks Standing, and a durable room's Context.Save goes
// through Save, which fails once this gateway is no longer the host.
type Host interface {
	// Place says whether room (kind, name) is hosted here; if it is,
	// state is its durable state to restore it from (nil: a new room).
	// create is whether the frame asking may make the room.
	Place(kind, name string, create bool) (local bool, state []byte, err error)
	// Forward sends frame m of socket s to the room's host and returns
	// the host's answer (an Error, or ErrUnavailable).
	Forward(kind, name string, s Socket, m gateway.Message) error
	// Standing says whether this gateway may act as the room's host now.
	Standing(kind, name string) Standing
	// Save commits the room's durable state; an error means this gateway
	// is no longer its host.
	Save(kind, name string, state []byte) error
	// Vanished tells that the room ended here (no members, or shut down).
	Vanished(kind, name string, saved bool)
}

// Standing is where a room's hosting stands, as Host.Standing says.
type Standing int

const (
	// Hosted: the room is hosted here; it acts.
	Hosted Standing = iota
	// CutOff: this gateway cannot tell right now (NATS unreachable, or
	// just woken from a pause): frames are answered unavailable and
	// timers wait, until the Host knows again.
	CutOff
	// Moved: another gateway hosts the room; it ends here.
	Moved
)

// Conn is what the runtime needs of a socket: *gateway.Conn, a socket of
// another gateway of the cluster that a Host represents here, or the fake
// of the package's tests. Its ID must
// be unique among the runtime's sockets.
type Conn interface {
	ID() uint64
	Identity() session.Identity
	ClientIP() string
	Send(m gateway.Message) error
	SendPrepared(p gateway.PreparedMessage) error
	Reply(m gateway.Message) error
}

// Open adds a socket of another gateway (see Conn): the rooms here see it
// as they see local ones (a held player's socket returns to their rooms).
func (rt *Runtime) Open(c Conn) { rt.connect(c) }

// Close removes a socket added with Open, for why.
func (rt *Runtime) Close(id uint64, why Reason) { rt.disconnect(id, why) }

// Socket returns the Socket of an open socket, added with Open or by the
// gateway.
func (rt *Runtime) Socket(id uint64) (Socket, bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	st := rt.sockets[id]
	if st == nil {
		return Socket{}, false
	}
	return st.s, true
}

// ErrNotHere answers a forwarded frame for a room this gateway does not
// host: the sender should place it again.
var ErrNotHere = errors.New("room: not hosted here")

// Deliver runs frame m of socket id in room (kind, name) hosted here, as
// a frame forwarded by another gateway; it fails with ErrNotHere when the
// room is not placed here.
func (rt *Runtime) Deliver(kind, name string, id uint64, m gateway.Message) error {
	k := rt.kindNamed(kind)
	if k == nil {
		return gateway.Error{Code: "unknown_type", Message: "unknown room kind " + kind}
	}
	rt.mu.Lock()
	st := rt.sockets[id]
	r := rt.rooms[roomKey{k, name}]
	rt.mu.Unlock()
	if st == nil {
		return ErrUnavailable
	}
	if r == nil {
		return ErrNotHere
	}
	t, err := k.Route(m)
	if err != nil {
		return err
	}
	if t.Room != name {
		return ErrNotHere
	}
	done := make(chan error, 1)
	r, here, err := rt.deliverLocal(k, t, event{kind: evMessage, sock: st.s, msg: m, done: done}, nil, false)
	if err != nil {
		return err
	}
	if here {
		r.loop(done)
	}
	if err := <-done; !errors.Is(err, errMoved) {
		return err
	}
	return ErrNotHere // evicted while it waited: the sender places it again
}

// Adopt places room (kind, name) here with its durable state, as the Host
// does when this gateway takes a room over (its host died or handed it
// off): the room is restored and resumes (Resumer) at once.
func (rt *Runtime) Adopt(kind, name string, state []byte) error {
	k := rt.kindNamed(kind)
	if k == nil || k.Restore == nil {
		return errors.New("room: kind " + kind + " cannot be restored")
	}
	_, _, err := rt.deliverLocal(k, Target{Room: name, Create: true}, event{}, state, true)
	return err
}

// Evict ends room (kind, name) here at once, without telling its members
// (it lives on at another gateway): its timers stop, its queued frames
// get unavailable.
func (rt *Runtime) Evict(kind, name string) {
	k := rt.kindNamed(kind)
	if k == nil {
		return
	}
	rt.mu.Lock()
	r := rt.rooms[roomKey{k, name}]
	if r != nil {
		r.post(event{kind: evEvict})
	}
	rt.mu.Unlock()
}

func (rt *Runtime) kindNamed(name string) *Kind {
	for _, k := range rt.kinds {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// Resumer is implemented by rooms restored from a saved state (Kind's
// Restore): Resume runs first in the restored room's order, to hold its
// players again (Context.HoldPlayer) and resync them.
type Resumer interface {
	Resume(r *Context)
}

// HoldPlayer makes p a held member of the room, with or without a socket
// open (a restored room's players): their open sockets are in the room
// at once, later ones return (Returner).
func (c *Context) HoldPlayer(p Player, grace time.Duration) error {
	r := c.r
	if r.members[p.ID] == nil {
		if err := r.rt.joinedPlayer(r, p.ID); err != nil {
			return err
		}
		r.seq++
		r.members[p.ID] = &member{p: p, seq: r.seq}
	}
	m := r.members[p.ID]
	m.held = false // Hold attaches the open sockets
	if err := c.Hold(p.ID, grace); err != nil {
		return err
	}
	if len(m.sockets) == 0 && m.awaySince.IsZero() {
		m.awaySince = r.rt.opts.Now() // away, as the room restoring them knows
	}
	return nil
}

// Save commits the room's durable state (what its Kind's Restore takes
// back) where the cluster keeps it; with one process it does nothing. A
// room saves before it tells anyone of a change: when Save fails the room
// is no longer hosted here and must send nothing more (it ends after the
// event; the frame is answered unavailable).
func (c *Context) Save(state []byte) error {
	r := c.r
	if r.rt.opts.Host == nil {
		return nil
	}
	if err := r.rt.opts.Host.Save(r.kind.Name, r.name, state); err != nil {
		r.lost = true
		return ErrUnavailable
	}
	r.saved = true
	return nil
}

// Frame handles frame m of socket id (the gateway's or one added with
// Open) as Message does: routed to its kind and room, answered when the
// room has handled it.
func (rt *Runtime) Frame(id uint64, m gateway.Message) error { return rt.message(id, m) }
