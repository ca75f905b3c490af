package room

import (
	"cmp"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/bigtwo/gateway/gateway"
	"github.com/google/uuid"
)

// Context is a room's handle on itself during one of its events: its
// members, its sends and its timers. It is valid only during the call it
// is passed to (keep a Socket or a Player, not the Context) and, like the
// room's code, used from one goroutine at a time.
type Context struct {
	r       *room
	from    Socket // the socket whose frame is being handled
	fromSet bool
	reqID   json.RawMessage
	summary any
}

// Name is the room's name.
func (c *Context) Name() string { return c.r.name }

// Kind is the room's kind's Name.
func (c *Context) Kind() string { return c.r.kind.Name }

// Now is the runtime's clock (Options.Now).
func (c *Context) Now() time.Time { return c.r.rt.opts.Now() }

// Member is a member as Context.Members lists it.
type Member struct {
	Player Player
	// Sockets is how many of the player's sockets are in the room.
	Sockets int
	// Held reports whether the room holds the player (Context.Hold).
	Held bool
	// AwaySince is when a held player's last socket ended; zero while
	// any socket of theirs is in the room.
	AwaySince time.Time
}

// Join puts socket s in the room, making its player a member if they were
// not (first is then true). Joining again is harmless; a held player
// joining while away is back (no Returner call: the room asked). It fails
// with ErrTooManyRooms, ErrRoomFull or a per-address too_many_rooms when a
// cap is reached, and does nothing for a socket that has already ended.
func (c *Context) Join(s Socket) (first bool, err error) {
	r := c.r
	m := r.members[s.Player.ID]
	if m == nil {
		if len(r.members) >= r.rt.opts.MaxMembers {
			return false, ErrRoomFull
		}
		switch err := r.rt.joined(r, s); {
		case errors.Is(err, errEnded):
			return false, nil
		case err != nil:
			return false, err
		}
		r.seq++
		m = &member{p: s.Player, seq: r.seq, ip: s.ip}
		r.members[s.Player.ID] = m
		r.counted()
		first = true
	} else if !r.rt.live(s) {
		return false, nil
	}
	m.addSocket(s)
	m.back()
	return first, nil
}

// LeaveSocket takes socket s out of the room. When it was the player's
// last socket and the room does not hold them, they stop being a member
// and last is true (Handler.Leave is not called: the room asked).
func (c *Context) LeaveSocket(s Socket) (last bool) {
	m := c.r.members[s.Player.ID]
	if m == nil {
		return false
	}
	m.removeSocket(s.ID())
	if len(m.sockets) > 0 || m.held {
		return false
	}
	c.r.remove(m)
	return true
}

// Hold makes the member p held: every socket of theirs, open now or opened
// later, is in the room; when the last one ends they stay a member, away
// (Awayer), and a new socket brings them back (Returner). With grace > 0
// a member away for that long leaves (Handler.Leave with Dropped); with 0
// the hold lasts until Release or Remove. The revocation of a session that
// had a socket in the room ends the hold (Handler.Leave with Revoked)
// unless a socket of another session of theirs is in the room.
//
// It fails if p is not a member. Holding a held member again only sets the
// grace of their next absence.
func (c *Context) Hold(p uuid.UUID, grace time.Duration) error {
	m := c.r.members[p]
	if m == nil {
		return errNotMember
	}
	if m.held {
		// Their sockets are in the room already, and one opened since is
		// on its way (evArrive), to be seen by the Returner.
		m.grace = grace
		return nil
	}
	m.held, m.grace = true, grace
	for _, s := range c.r.rt.liveSockets(p) {
		m.addSocket(s)
	}
	return nil
}

// Release ends p's hold; if p has no socket in the room they stop being a
// member (reported true).
func (c *Context) Release(p uuid.UUID) (gone bool) {
	m := c.r.members[p]
	if m == nil {
		return false
	}
	m.held = false
	if m.graceT != nil {
		m.graceT.Stop()
		m.graceT = nil
	}
	if len(m.sockets) == 0 {
		c.r.remove(m)
		return true
	}
	return false
}

// Remove ends p's membership, whatever their sockets (Handler.Leave is
// not called: the room asked).
func (c *Context) Remove(p uuid.UUID) {
	if m := c.r.members[p]; m != nil {
		c.r.remove(m)
	}
}

// IsMember reports whether p is a member.
func (c *Context) IsMember(p uuid.UUID) bool { return c.r.members[p] != nil }

// In reports whether socket s is in the room.
func (c *Context) In(s Socket) bool {
	m := c.r.members[s.Player.ID]
	if m == nil {
		return false
	}
	return m.hasSocket(s.ID())
}

// MemberOf describes member p.
func (c *Context) MemberOf(p uuid.UUID) (Member, bool) {
	m := c.r.members[p]
	if m == nil {
		return Member{}, false
	}
	return m.view(), true
}

func (m *member) view() Member {
	return Member{Player: m.p, Sockets: len(m.sockets), Held: m.held, AwaySince: m.awaySince}
}

// Members lists the members in the order they joined.
func (c *Context) Members() []Member {
	ms := make([]*member, 0, len(c.r.members))
	for _, m := range c.r.members {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b *member) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]Member, len(ms))
	for i, m := range ms {
		out[i] = m.view()
	}
	return out
}

// Send sends m to every socket of player p in the room. A copy for the
// socket whose frame is being handled carries the frame's id and is a
// reply; for any other socket a full queue closes it (1013), which only
// slows that client down.
func (c *Context) Send(p uuid.UUID, m gateway.Message) {
	if mem := c.r.members[p]; mem != nil {
		for _, s := range mem.sockets {
			c.SendSocket(s, m)
		}
	}
}

// SendSocket sends m to socket s alone (a reply, with the frame's id, if
// s sent the frame being handled).
func (c *Context) SendSocket(s Socket, m gateway.Message) {
	if c.fromSet && s.conn == c.from.conn {
		m.ID = c.reqID
		_ = s.conn.Reply(m) // a closing socket needs nothing
		return
	}
	m.ID = nil
	_ = s.conn.Send(m) // a slow socket is closed by the gateway
}

// Broadcast sends m to every socket of every member, encoded once.
func (c *Context) Broadcast(m gateway.Message) { c.BroadcastExcept(uuid.Nil, m) }

// BroadcastExcept sends m to every socket of every member but player
// skip, encoded once.
func (c *Context) BroadcastExcept(skip uuid.UUID, m gateway.Message) {
	m.ID = nil
	var prepared gateway.PreparedMessage
	ready := false
	for pid, mem := range c.r.members {
		if pid == skip {
			continue
		}
		for _, s := range mem.sockets {
			if c.fromSet && s.conn == c.from.conn {
				c.SendSocket(s, m)
				continue
			}
			if !ready {
				prepared, ready = gateway.NewPreparedMessage(m), true
			}
			_ = s.conn.SendPrepared(prepared)
		}
	}
}

// Reply answers the frame being handled, on the socket that sent it (as
// a Socket's SendSocket would); outside Message it does nothing.
func (c *Context) Reply(m gateway.Message) {
	if c.fromSet {
		c.SendSocket(c.from, m)
	}
}

// SetSummary sets what listings (Query.Rooms, the admin API) show of the
// room besides its member count: a small value that encodes to JSON.
func (c *Context) SetSummary(v any) { c.summary = v }

// Timer is a room timer: its function runs in the room's order, and it
// stops with the room.
type Timer struct {
	r    *room
	t    *time.Timer
	f    func(*Context)
	when time.Time // the deadline, on the time package's clock
	seq  uint64    // the order it was set in, among the room's timers
}

// After runs f in the room's order after d, unless the timer is stopped
// or the room ends first. Timers run by deadline, and timers due at the
// same time in the order they were set.
func (c *Context) After(d time.Duration, f func(*Context)) *Timer {
	r := c.r
	r.timerSeq++
	t := &Timer{r: r, f: f, when: time.Now().Add(d), seq: r.timerSeq}
	if r.timers == nil { // the room has vanished or stopped
		return t
	}
	r.timers[t] = struct{}{}
	t.t = time.AfterFunc(d, func() { r.post(event{kind: evTimer, timer: t}) })
	return t
}

// Stop stops the timer; it reports whether it had yet to run. Call it
// from the room's own events only.
func (t *Timer) Stop() bool {
	if t == nil || t.t == nil {
		return false
	}
	t.t.Stop()
	_, pending := t.r.timers[t]
	delete(t.r.timers, t)
	return pending
}
