package room

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/session"
	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/rs/zerolog"
)

var _ gateway.Handler = (*Runtime)(nil) // the runtime is the gateway's room module

// Kind is one family of rooms: the frame types it owns and how its rooms
// are made. A Runtime serves any number of kinds side by side (chat rooms
// next to a game), each owning its own frame prefix.
type Kind struct {
	// Name names the kind in listings, logs and metrics ("chat", "table").
	Name string
	// Prefix is the frame type prefix the kind owns, e.g. "room." or
	// "game."; it must end in a dot and differ from every other kind's.
	Prefix string
	// Route says which room of the kind a frame is for. It runs on the
	// socket's dispatcher, outside any room's order, and should only decode.
	// An error answers the frame (an Error becomes an error frame).
	Route func(m gateway.Message) (Target, error)
	// New makes the code of a new room of the kind, named name. It runs in
	// the new room's order, before the frame that made the room.
	New func(name string) Handler
	// Restore makes the code of a room from the state it saved
	// (Context.Save), when a gateway of a cluster takes the room over.
	// Nil: the kind's rooms are not durable (they start afresh).
	Restore func(name string, state []byte) (Handler, error)
	// Query answers frames that are for the kind as a whole (a Target with
	// no Room), such as listings. Nil: such frames get unknown_type.
	Query func(q Query, s Socket, m gateway.Message) error
}

// Target is where Route sends a frame.
type Target struct {
	// Room is the room the frame is for; empty means the kind's Query.
	Room string
	// Create lets the frame make the room when it does not exist.
	Create bool
	// Missing answers the frame when the room does not exist and Create is
	// false (say Error{Code: "not_in_room"}).
	Missing error
}

// Options tunes a Runtime. The zero value of every field means its default.
type Options struct {
	// RoomsPerPlayer is how many rooms one player may be a member of at
	// once, all kinds together; joining one more gets too_many_rooms.
	// Defaults to 16.
	RoomsPerPlayer int
	// RoomsPerAddress is how many room memberships the players of one
	// client address may hold together, so that a handful of addresses
	// cannot hold the rooms everyone needs. Defaults to 16,000: 16 rooms
	// for each of the 1,000 sockets an address may open by default, so
	// players behind one NAT (or a load tool) are not refused before
	// their own caps.
	RoomsPerAddress int
	// MaxRooms caps the rooms that exist at once, all kinds together; past
	// it a new room gets room_limit_reached. With the per-player and
	// per-address caps, filling it takes MaxRooms/RoomsPerAddress
	// addresses. Defaults to 100,000.
	MaxRooms int
	// MaxMembers caps one room's members; past it joining gets room_full.
	// Defaults to 1,000.
	MaxMembers int
	// Host places rooms across a cluster of gateways; nil: every room
	// lives here.
	Host Host
	// Now is the clock of Context.Now. Defaults to time.Now. Room timers
	// use the time package's timers (testing/synctest fakes both).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.RoomsPerPlayer <= 0 {
		o.RoomsPerPlayer = 16
	}
	if o.RoomsPerAddress <= 0 {
		o.RoomsPerAddress = 16_000
	}
	if o.MaxRooms <= 0 {
		o.MaxRooms = 100_000
	}
	if o.MaxMembers <= 0 {
		o.MaxMembers = 1000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Errors of the runtime. Each is an Error, so a module may return it as it
// is and the client gets the error frame.
var (
	ErrTooManyRooms = gateway.Error{Code: "too_many_rooms", Message: "a player may be in at most 16 rooms: leave one first"}
	ErrRoomLimit    = gateway.Error{Code: "room_limit_reached", Message: "the server holds as many rooms as it can: join an existing one"}
	ErrRoomFull     = gateway.Error{Code: "room_full", Message: "this room has as many members as it may"}
	ErrUnavailable  = gateway.Error{Code: "unavailable", Message: "the room cannot be reached: try again"}
)

// Runtime is the room runtime: a gateway.Handler that keeps track of
// players across their sockets and runs rooms of its kinds, each room's
// events one at a time in one order. It is safe for concurrent use.
//
// A room's event loop runs only while the room has events queued (an idle
// room costs no goroutine): on the goroutine of the frame that found the
// room idle, until that frame is handled, else on a goroutine of its own.
// Shutdown stops them and waits.
type Runtime struct {
	log   zerolog.Logger
	opts  Options
	kinds []*Kind

	mu       sync.Mutex
	stopped  bool
	rooms    map[roomKey]*room
	players  map[uuid.UUID]*player
	sockets  map[uint64]*socketState
	addrUsed map[string]int // room memberships held per client address
	loops    sync.WaitGroup // running room event loops
}

type roomKey struct {
	kind *Kind
	name string
}

// player is what the runtime knows of one player: their live sockets and
// the rooms they are a member of. Guarded by Runtime.mu.
type player struct {
	sockets map[uint64]*socketState
	rooms   map[*room]struct{}
}

// socketState is one live socket. Guarded by Runtime.mu, but for s, which
// never changes.
type socketState struct {
	s    Socket
	gone bool
}

// New returns a Runtime serving kinds. It panics if two kinds share a
// prefix or a kind lacks Route or New: that is a programming error.
func New(log zerolog.Logger, opts Options, kinds ...*Kind) *Runtime {
	rt := &Runtime{
		log:      log,
		opts:     opts.withDefaults(),
		kinds:    kinds,
		rooms:    make(map[roomKey]*room),
		players:  make(map[uuid.UUID]*player),
		sockets:  make(map[uint64]*socketState),
		addrUsed: make(map[string]int),
	}
	seen := map[string]bool{}
	for _, k := range kinds {
		if k.Route == nil || k.New == nil || !strings.HasSuffix(k.Prefix, ".") || seen[k.Prefix] {
			panic(fmt.Sprintf("room: kind %q needs Route, New and a unique prefix ending in a dot", k.Name))
		}
		seen[k.Prefix] = true
	}
	return rt
}

// Connect implements gateway.Handler: the socket becomes one of its
// player's, and every room that holds the player (Context.Hold) sees it
// return, so it can resync the player's private view unasked.
func (rt *Runtime) Connect(ctx context.Context, c *gateway.Conn) error {
	rt.connect(c)
	return nil
}

func (rt *Runtime) connect(c Conn) {
	id := c.Identity()
	st := &socketState{s: Socket{Player: Player{ID: id.PlayerID, Username: id.Username}, Session: id.SessionID, ip: c.ClientIP(), conn: c}}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.sockets[c.ID()] = st
	p := rt.playerLocked(id.PlayerID)
	p.sockets[c.ID()] = st
	for r := range p.rooms {
		r.post(event{kind: evArrive, sock: st.s})
	}
}

func (rt *Runtime) playerLocked(id uuid.UUID) *player {
	p := rt.players[id]
	if p == nil {
		p = &player{sockets: make(map[uint64]*socketState), rooms: make(map[*room]struct{})}
		rt.players[id] = p
	}
	return p
}

// forgetPlayerLocked drops the player's entry once nothing refers to it.
func (rt *Runtime) forgetPlayerLocked(id uuid.UUID) {
	if p := rt.players[id]; p != nil && len(p.sockets) == 0 && len(p.rooms) == 0 {
		delete(rt.players, id)
	}
}

// Disconnect implements gateway.Handler: every room the socket was in sees
// it go, with the reason (4003: Revoked, anything else: Dropped).
func (rt *Runtime) Disconnect(c *gateway.Conn, reason error) {
	rt.disconnect(c.ID(), reasonOf(reason))
}

func reasonOf(err error) Reason {
	if websocket.CloseStatus(err) == gateway.StatusRevoked {
		return Revoked
	}
	return Dropped
}

func (rt *Runtime) disconnect(id uint64, why Reason) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	st := rt.sockets[id]
	if st == nil {
		return
	}
	st.gone = true
	delete(rt.sockets, id)
	pid := st.s.Player.ID
	p := rt.players[pid]
	delete(p.sockets, id)
	for r := range p.rooms {
		r.post(event{kind: evGone, sock: st.s, why: why})
	}
	rt.forgetPlayerLocked(pid)
}

// Revoked tells the rooms that a session is revoked: a member whose every
// remaining socket belonged to it (or who had none open) leaves with
// Revoked at once. The gateway closes the session's sockets itself; wire
// both to the store's revocation feed (package gateway/app does).
func (rt *Runtime) Revoked(r session.Revocation) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	p := rt.players[r.PlayerID]
	if p == nil {
		return
	}
	for rm := range p.rooms {
		rm.post(event{kind: evRevoke, player: r.PlayerID, session: r.SessionID})
	}
}

// Message implements gateway.Handler: it routes the frame to its kind and
// room, and returns once the room has handled it (so the socket's next
// frame waits for it, and the replies get the socket's backpressure).
func (rt *Runtime) Message(ctx context.Context, c *gateway.Conn, m gateway.Message) error {
	return rt.message(c.ID(), m)
}

func (rt *Runtime) message(id uint64, m gateway.Message) error {
	k := rt.kindOf(m.Type)
	if k == nil {
		return gateway.Error{Code: "unknown_type", Message: "unknown frame type " + m.Type}
	}
	rt.mu.Lock()
	st := rt.sockets[id]
	rt.mu.Unlock()
	if st == nil {
		return net.ErrClosed
	}
	t, err := k.Route(m)
	if err != nil {
		return err
	}
	if t.Room == "" {
		if k.Query == nil {
			return gateway.Error{Code: "unknown_type", Message: "unknown frame type " + m.Type}
		}
		return k.Query(Query{rt: rt, kind: k, sock: st.s, id: m.ID}, st.s, m)
	}
	for attempt := 0; ; attempt++ {
		err := rt.route(k, t, st.s, m)
		if !errors.Is(err, errMoved) {
			return err
		}
		if attempt == 2 {
			return ErrUnavailable
		}
		// The room moved to another gateway while the frame waited in it.
	}
}

// route runs frame m of socket s in its room, here or at its host.
func (rt *Runtime) route(k *Kind, t Target, s Socket, m gateway.Message) error {
	done := make(chan error, 1)
	ev := event{kind: evMessage, sock: s, msg: m, done: done}
	var state []byte
	if h := rt.opts.Host; h != nil && !rt.hostsRoom(k, t.Room) {
		local, st2, err := h.Place(k.Name, t.Room, t.Create)
		if err != nil {
			return err
		}
		if !local {
			return h.Forward(k.Name, t.Room, s, m)
		}
		state = st2
	}
	r, here, err := rt.deliverLocal(k, t, ev, state, state != nil)
	if err != nil {
		return err
	}
	if here { // the room was idle: run its loop here until the frame is handled
		r.loop(done)
	}
	return <-done
}

// hostsRoom reports whether room (k, name) is placed here.
func (rt *Runtime) hostsRoom(k *Kind, name string) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.rooms[roomKey{k, name}] != nil
}

func (rt *Runtime) kindOf(typ string) *Kind {
	for _, k := range rt.kinds {
		if strings.HasPrefix(typ, k.Prefix) {
			return k
		}
	}
	return nil
}

// deliver queues ev in the target room, making the room (New, then ev)
// when the target allows. Lookup and queueing happen under rt.mu, which a
// room also holds to vanish: ev cannot miss the room it found, and the
// frame that makes a room is its first event after New. When the room
// was idle, the caller is to run its loop (runHere), outside rt.mu.
//
// state, when not nil, is the saved state a new room is restored from
// (restore: the room may be made whatever the target says); a zero ev
// (kind 0) only makes the room.
func (rt *Runtime) deliverLocal(k *Kind, t Target, ev event, state []byte, restore bool) (r *room, runHere bool, err error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.stopped {
		return nil, false, ErrUnavailable
	}
	key := roomKey{k, t.Room}
	r = rt.rooms[key]
	if r == nil {
		if !t.Create && !restore {
			if t.Missing == nil {
				return nil, false, gateway.Error{Code: "not_in_room", Message: "no room " + t.Room}
			}
			return nil, false, t.Missing
		}
		if len(rt.rooms) >= rt.opts.MaxRooms {
			return nil, false, ErrRoomLimit
		}
		r = newRoom(rt, k, t.Room)
		rt.rooms[key] = r
		_, runHere = r.enqueue(event{kind: evCreate, state: state}, ev.kind != 0)
	}
	if ev.kind == 0 {
		return r, false, nil
	}
	_, idle := r.enqueue(ev, true)
	return r, runHere || idle, nil
}

// Shutdown stops every room: each runs its Stopper's Stop in its order
// (to save or hand off its state), its timers stop, and later events are
// dropped; frames for rooms then get unavailable. Shutdown waits for the
// rooms' event loops, or returns ctx's error. Call it before the gateway
// closes its sockets, so that rooms do not see their members drop. It may
// be called more than once.
func (rt *Runtime) Shutdown(ctx context.Context) error {
	rt.mu.Lock()
	rt.stopped = true
	for _, r := range rt.rooms {
		r.post(event{kind: evStop})
	}
	rt.mu.Unlock()
	done := make(chan struct{})
	go func() { // ends when the loops do; Shutdown's caller waits for it below or gives up at ctx
		rt.loops.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("room shutdown: %w", ctx.Err())
	}
}

// Rooms lists the rooms that have members, for the admin API. A room's
// member count changes as its members join and leave, before the room
// answers them; its Summary after each of its events.
func (rt *Runtime) Rooms() []Info {
	rt.mu.Lock()
	rooms := make([]*room, 0, len(rt.rooms))
	for _, r := range rt.rooms {
		rooms = append(rooms, r)
	}
	rt.mu.Unlock()
	out := make([]Info, 0, len(rooms))
	for _, r := range rooms {
		if i := r.info(); i.Members > 0 { // not one being made, or vanishing
			out = append(out, i)
		}
	}
	return out
}

// AllRooms lists the rooms of the whole cluster when the Host can
// (Lister), else those of this process.
func (rt *Runtime) AllRooms() []Info {
	if l, ok := rt.opts.Host.(Lister); ok {
		return l.ClusterRooms()
	}
	return rt.Rooms()
}

// Info describes a room as listings show it.
type Info struct {
	// Kind is the room's kind's Name.
	Kind string
	// Name is the room's name.
	Name string
	// Members is how many players are members.
	Members int
	// Summary is what the room last set with Context.SetSummary, or nil;
	// from another gateway of a cluster, its JSON (a json.RawMessage).
	Summary any
	// Host names the gateway that hosts the room; empty for this one.
	Host string
}

// Lister is implemented by a Host that can list the rooms of the whole
// cluster; listings (Query.Rooms) then show them all.
type Lister interface {
	ClusterRooms() []Info
}

// Query is what a kind's Query sees: the kind's rooms, and a way to answer.
type Query struct {
	rt   *Runtime
	kind *Kind
	sock Socket
	id   []byte
}

// Rooms lists the kind's rooms, in no particular order.
func (q Query) Rooms() []Info {
	all := q.rt.AllRooms()
	out := all[:0]
	for _, i := range all {
		if i.Kind == q.kind.Name {
			out = append(out, i)
		}
	}
	return out
}

// Reply answers the query's frame, with its id.
func (q Query) Reply(m gateway.Message) error {
	m.ID = q.id
	return q.sock.conn.Reply(m)
}
