package room

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/bigtwo/gateway/gateway"
	"github.com/google/uuid"
)

// Player is a room member: the identity the gateway attached to their
// sockets, never anything a client sent.
type Player struct {
	ID       uuid.UUID `json:"player_id"`
	Username string    `json:"username"`
}

// Socket is one socket of a player, as events name it. It is a value: a
// module may keep it (to answer that socket later) and compare it.
type Socket struct {
	Player  Player
	Session uuid.UUID
	ip      string
	conn    Conn
}

// ID is the socket's number, unique in this process.
func (s Socket) ID() uint64 { return s.conn.ID() }

// Reason says why a player stopped being a member, or went away.
type Reason int

// Leave reasons.
const (
	// Left: the player left on purpose (room.leave, game.stand). The
	// runtime never reports it; modules use it for their own bookkeeping.
	Left Reason = iota + 1
	// Dropped: the player's sockets ended without leaving (network loss,
	// missed heartbeat, 1001 drain, a tab closed), or their hold expired.
	Dropped
	// Revoked: the player's session was revoked (logout, log out
	// everywhere, admin, eviction), with or without a socket open.
	Revoked
)

func (r Reason) String() string {
	switch r {
	case Left:
		return "left"
	case Dropped:
		return "dropped"
	case Revoked:
		return "revoked"
	default:
		return fmt.Sprintf("Reason(%d)", int(r))
	}
}

// Handler is the code of one room, made by its Kind's New. The runtime
// calls it one event at a time, in the room's one order, never
// concurrently: room code holds no locks. No method may block (no I/O,
// no waiting); long work belongs elsewhere, its result sent back as a
// frame or a timer.
type Handler interface {
	// Message handles a frame from socket s of the kind's prefix routed to
	// this room. Every frame the room sends to s during the call carries
	// the frame's id and is a reply (backpressure, never 1013). A returned
	// Error is answered as an error frame; any other error closes s with
	// 1011.
	Message(r *Context, s Socket, m gateway.Message) error
	// Leave tells that p stopped being a member without the room asking:
	// Dropped (the last socket of a member not held ended, or a hold's
	// grace ran out) or Revoked. The player is no longer a member.
	Leave(r *Context, p Player, why Reason)
}

// Returner is implemented by rooms that want to know when a held player
// gets a socket: a new socket of theirs (reconnect, second tab) is already
// in the room when Return runs; this is the moment to resync it.
type Returner interface {
	Return(r *Context, s Socket)
}

// Awayer is implemented by rooms that want to know when a held player's
// last socket ends: the player stays a member, away.
type Awayer interface {
	Away(r *Context, p Player)
}

// Stopper is implemented by rooms that need to act when the runtime shuts
// down (save or hand off state). Timers are stopped after Stop returns.
type Stopper interface {
	Stop(r *Context)
}

// eventKind is what an event is.
type eventKind uint8

const (
	evCreate  eventKind = iota + 1 // the room was made: New runs
	evMessage                      // a frame from sock
	evArrive                       // a new socket of sock.Player
	evGone                         // sock ended, for why
	evRevoke                       // session of player revoked
	evTimer                        // timer fires
	evStop                         // the runtime shuts down
	evEvict                        // the room lives on at another gateway
)

type event struct {
	kind    eventKind
	sock    Socket
	msg     gateway.Message
	done    chan<- error // evMessage: the result, buffered
	why     Reason
	player  uuid.UUID
	session uuid.UUID
	timer   *Timer
	state   []byte // evCreate: the saved state to restore, nil for a new room
}

// room is one room: its queue of events and the state only its events
// touch. The event loop runs on a goroutine only while events are queued.
type room struct {
	rt   *Runtime
	kind *Kind
	name string

	mu      sync.Mutex // guards queue, running, closed, halted and summary; lock order: Runtime.mu, then mu
	queue   []event
	running bool
	closed  bool  // vanished or stopped: no more events
	halted  bool  // closed by Shutdown or evicted: frames get haltErr
	haltErr error // ErrUnavailable, or errMoved (the sender places the frame again)
	summary Info

	// Touched only by the running event.
	h        Handler
	ctx      Context
	members  map[uuid.UUID]*member
	seq      uint64
	timers   map[*Timer]struct{}
	timerSeq uint64
	stopped  bool
	lost     bool // a Save failed or the Host no longer backs the room: it ends
	saved    bool // the room saved state at least once
}

// member is one player's membership of a room.
type member struct {
	p         Player
	seq       uint64      // join order
	sockets   []Socket    // sockets in the room (a player has a few)
	sessions  []uuid.UUID // sessions that had a socket in the room
	held      bool
	grace     time.Duration
	awaySince time.Time
	graceT    *Timer
	ip        string // the address its membership is counted against
}

func newRoom(rt *Runtime, k *Kind, name string) *room {
	r := &room{rt: rt, kind: k, name: name, members: make(map[uuid.UUID]*member), timers: make(map[*Timer]struct{})}
	r.ctx.r = r
	r.summary = Info{Kind: k.Name, Name: name}
	return r
}

// post queues ev and starts the event loop on a goroutine if it is not
// running. It reports false when the room no longer takes events.
func (r *room) post(ev event) bool {
	taken, _ := r.enqueue(ev, false)
	return taken
}

// enqueue queues ev. If no loop is running one is started: on a new
// goroutine, or, with inline, by the caller, who is told to run it
// (runHere) with loop(ev.done), once it holds no lock. taken is false
// when the room no longer takes events.
func (r *room) enqueue(ev event, inline bool) (taken, runHere bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		if ev.done != nil && r.halted {
			ev.done <- r.haltErr
			return true, false
		}
		return false, false
	}
	r.queue = append(r.queue, ev)
	if r.running {
		return true, false
	}
	r.running = true
	r.rt.loops.Add(1) // done by loop when it ends
	if inline {
		return true, true
	}
	go r.loop(nil) // owned by Runtime.loops; ends when the queue is empty
	return true, false
}

// loop runs queued events one at a time until none is left. A loop run
// inline by a frame's caller (until is that frame's done) ends as soon as
// that frame has been handled, and hands what is queued behind it to a
// new goroutine: a frame for an idle room costs no goroutine switch, and
// the caller never works for other sockets.
func (r *room) loop(until chan<- error) {
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			r.running = false
			r.queue = nil
			r.mu.Unlock()
			r.rt.loops.Done()
			return
		}
		ev := r.queue[0]
		r.queue[0] = event{}
		r.queue = r.queue[1:]
		r.mu.Unlock()
		r.run(ev)
		if until != nil && ev.done == until {
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.queue) == 0 {
				r.running = false
				r.queue = nil
				r.rt.loops.Done()
				return
			}
			go r.loop(nil) // takes over this loop's count in Runtime.loops
			return
		}
	}
}

// run handles one event, then lets the room vanish if it has no members.
func (r *room) run(ev event) {
	if r.stopped {
		if ev.done != nil {
			ev.done <- ErrUnavailable
		}
		return
	}
	defer func() {
		// A panic in room code ends that room, not the process: its
		// members stay connected and the frame gets internal_error.
		if p := recover(); p != nil {
			r.rt.log.Error().Interface("panic", p).Str("room", r.name).Str("kind", r.kind.Name).Msg("room code panicked: room ended")
			if ev.done != nil {
				select { // done holds one answer: a frame answered before the panic keeps it
				case ev.done <- gateway.Error{Code: "internal_error", Message: "the room failed and was closed"}:
				default:
				}
			}
			r.lost = true
			r.evict()
		}
	}()

	c := &r.ctx
	c.from, c.reqID, c.fromSet = Socket{}, nil, false
	if h := r.rt.opts.Host; h != nil && ev.kind != evCreate && ev.kind != evStop && ev.kind != evEvict {
		st := Hosted
		if !r.lost {
			st = h.Standing(r.kind.Name, r.name)
		}
		switch {
		case r.lost || st == Moved:
			ev.kind = evEvict
		case st == CutOff && ev.kind == evMessage:
			ev.done <- ErrUnavailable
			return
		case st == CutOff:
			// Timers, arrivals, departures wait until the Host knows
			// again: a room another gateway may have taken sends nothing.
			time.AfterFunc(cutOffRetry, func() { r.post(ev) })
			return
		}
	}
	switch ev.kind {
	case evCreate:
		if !r.create(ev.state) {
			r.lost = true
			r.evict()
			return
		}
	case evEvict:
		if ev.done != nil {
			ev.done <- errMoved
		}
		r.evict()
		return
	case evMessage:
		c.from, c.reqID, c.fromSet = ev.sock, ev.msg.ID, true
		err := r.h.Message(c, ev.sock, ev.msg)
		c.from, c.reqID, c.fromSet = Socket{}, nil, false
		if r.lost {
			err = ErrUnavailable
		}
		ev.done <- err
	case evArrive:
		r.arrive(ev.sock)
	case evGone:
		r.gone(ev.sock, ev.why)
	case evRevoke:
		r.revoke(ev.player, ev.session)
	case evTimer:
		r.fire(ev.timer)
	case evStop:
		if s, ok := r.h.(Stopper); ok {
			s.Stop(c)
		}
		r.stopAll(ErrUnavailable)
		return
	}
	if r.lost {
		r.evict()
		return
	}
	r.publish()
	if len(r.members) == 0 {
		r.vanish()
	}
}

// cutOffRetry is how soon a timer due while the Host was cut off tries again.
const cutOffRetry = 100 * time.Millisecond

// create makes the room's code: New, or the Kind's Restore of a saved
// state, which then resumes. It reports false if the state cannot be
// restored.
func (r *room) create(state []byte) bool {
	if state == nil {
		r.h = r.kind.New(r.name)
		return true
	}
	h, err := r.kind.Restore(r.name, state)
	if err != nil {
		r.rt.log.Error().Err(err).Str("room", r.name).Str("kind", r.kind.Name).Msg("restore room")
		return false
	}
	r.h, r.saved = h, true
	if res, ok := h.(Resumer); ok {
		res.Resume(&r.ctx)
	}
	return true
}

// evict ends the room here without a word to its members: it lives on at
// another gateway (or could not be restored).
func (r *room) evict() {
	members := make([]*member, 0, len(r.members))
	for _, m := range r.members {
		members = append(members, m)
	}
	for _, m := range members {
		r.remove(m)
	}
	r.stopAll(errMoved)
}

// fire runs timer t, if it is still pending, and first every pending timer
// due no later than t, by deadline then by the order they were set:
// time.AfterFunc runs each callback on its own goroutine, so their events
// may be queued out of order. A timer that runs here is skipped when its
// own event comes.
func (r *room) fire(t *Timer) {
	if _, ok := r.timers[t]; !ok {
		return
	}
	var due []*Timer
	for o := range r.timers {
		if !o.when.After(t.when) {
			due = append(due, o)
		}
	}
	slices.SortFunc(due, func(a, b *Timer) int {
		if c := a.when.Compare(b.when); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	for _, o := range due {
		if _, ok := r.timers[o]; !ok { // stopped by one that ran before it
			continue
		}
		delete(r.timers, o)
		o.t.Stop()
		o.f(&r.ctx)
	}
}

// publish updates the summary listings read, after each event.
func (r *room) publish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.summary.Members = len(r.members)
	r.summary.Summary = r.ctx.summary
}

// counted updates the member count listings read as soon as membership
// changes, before the event sends anything: a client that got a room's
// answer to a join or a leave lists the room as that answer says.
func (r *room) counted() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.summary.Members = len(r.members)
}

func (r *room) info() Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.summary
}

// vanish removes the empty room, unless events are still queued (one may
// be a join).
func (r *room) vanish() {
	r.rt.mu.Lock()
	defer r.rt.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) > 0 || r.closed {
		return
	}
	r.closed = true
	delete(r.rt.rooms, roomKey{r.kind, r.name})
	for t := range r.timers {
		t.t.Stop()
	}
	r.timers = nil
	if h := r.rt.opts.Host; h != nil {
		h.Vanished(r.kind.Name, r.name, r.saved) // under the locks: the next placement waits for this
	}
}

// stopAll ends the room for a shutdown: timers stop, later events are
// answered unavailable.
func (r *room) stopAll(answer error) {
	r.stopped = true
	for t := range r.timers {
		t.t.Stop()
	}
	r.timers = nil
	r.rt.mu.Lock()
	defer r.rt.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed, r.halted, r.haltErr = true, true, answer
	delete(r.rt.rooms, roomKey{r.kind, r.name})
	for _, ev := range r.queue {
		if ev.done != nil {
			ev.done <- answer
		}
	}
	r.queue = nil
}

// arrive attaches a new socket of a held member, and tells the room.
func (r *room) arrive(s Socket) {
	m := r.members[s.Player.ID]
	if m == nil || !m.held {
		return
	}
	if !r.rt.live(s) {
		return
	}
	if !m.addSocket(s) {
		return
	}
	m.back()
	if h, ok := r.h.(Returner); ok {
		h.Return(&r.ctx, s)
	}
}

// gone detaches an ended socket: a member left with no socket leaves
// (Dropped or Revoked) unless held, in which case it is away (a revoked
// session's last socket ends a hold too).
func (r *room) gone(s Socket, why Reason) {
	m := r.members[s.Player.ID]
	if m == nil {
		return
	}
	if !m.removeSocket(s.ID()) || len(m.sockets) > 0 {
		return
	}
	if !m.held || why == Revoked {
		r.drop(m, why)
		return
	}
	r.away(m)
}

// addSocket puts socket s in m's sockets; false if it was there.
func (m *member) addSocket(s Socket) bool {
	if m.hasSocket(s.ID()) {
		return false
	}
	m.sockets = append(m.sockets, s)
	if !slices.Contains(m.sessions, s.Session) {
		m.sessions = append(m.sessions, s.Session)
	}
	return true
}

// hasSocket reports whether socket id is one of m's sockets.
func (m *member) hasSocket(id uint64) bool {
	return slices.ContainsFunc(m.sockets, func(s Socket) bool { return s.ID() == id })
}

// removeSocket takes socket id out of m's sockets; false if it was not there.
func (m *member) removeSocket(id uint64) bool {
	n := len(m.sockets)
	m.sockets = slices.DeleteFunc(m.sockets, func(s Socket) bool { return s.ID() == id })
	return len(m.sockets) < n
}

// back marks m present: no longer away, their grace canceled.
func (m *member) back() {
	m.awaySince = time.Time{}
	if m.graceT != nil {
		m.graceT.Stop()
		m.graceT = nil
	}
}

func (r *room) away(m *member) {
	m.awaySince = r.rt.opts.Now()
	if m.grace > 0 {
		pid := m.p.ID
		m.graceT = r.ctx.After(m.grace, func(c *Context) {
			if m := r.members[pid]; m != nil && len(m.sockets) == 0 {
				r.drop(m, Dropped)
			}
		})
	}
	if h, ok := r.h.(Awayer); ok {
		h.Away(&r.ctx, m.p)
	}
}

// revoke handles a revoked session of player pid: its sockets no longer
// count; a member left with none leaves with Revoked. A session that never
// had a socket in the room (another device's, evicted) changes nothing.
func (r *room) revoke(pid, sid uuid.UUID) {
	m := r.members[pid]
	if m == nil || !slices.Contains(m.sessions, sid) {
		return
	}
	m.sockets = slices.DeleteFunc(m.sockets, func(s Socket) bool { return s.Session == sid })
	m.sessions = slices.DeleteFunc(m.sessions, func(id uuid.UUID) bool { return id == sid })
	if len(m.sockets) == 0 {
		r.drop(m, Revoked)
	}
}

// drop removes m and tells the room why.
func (r *room) drop(m *member, why Reason) {
	r.remove(m)
	r.h.Leave(&r.ctx, m.p, why)
}

// remove forgets m.
func (r *room) remove(m *member) {
	if m.graceT != nil {
		m.graceT.Stop()
	}
	delete(r.members, m.p.ID)
	r.counted()
	r.rt.left(r, m)
}

// live reports whether s is still open.
func (rt *Runtime) live(s Socket) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	st := rt.sockets[s.ID()]
	return st != nil && !st.gone
}

// joined records a new membership of r by the player of socket s, within
// the caps. The socket must be open: checked under rt.mu, so that either
// it has ended before (errEnded) or its end is posted to r after.
func (rt *Runtime) joined(r *room, s Socket) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if st := rt.sockets[s.ID()]; st == nil || st.gone {
		return errEnded
	}
	pid := s.Player.ID
	p := rt.players[pid] // the socket's player: present while it is open
	if len(p.rooms) >= rt.opts.RoomsPerPlayer {
		return ErrTooManyRooms
	}
	if rt.addrUsed[s.ip] >= rt.opts.RoomsPerAddress {
		return gateway.Error{Code: "too_many_rooms", Message: "the players of this address are in as many rooms as they may"}
	}
	p.rooms[r] = struct{}{}
	rt.addrUsed[s.ip]++
	return nil
}

// joinedPlayer records a membership of r by player pid with no socket (a
// restored room's player), within the per-player cap.
func (rt *Runtime) joinedPlayer(r *room, pid uuid.UUID) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	p := rt.playerLocked(pid)
	if len(p.rooms) >= rt.opts.RoomsPerPlayer {
		rt.forgetPlayerLocked(pid)
		return ErrTooManyRooms
	}
	p.rooms[r] = struct{}{}
	return nil
}

// left undoes joined.
func (rt *Runtime) left(r *room, m *member) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if p := rt.players[m.p.ID]; p != nil {
		delete(p.rooms, r)
		rt.forgetPlayerLocked(m.p.ID)
	}
	if m.ip == "" {
		return // a restored member, not counted against an address
	}
	if rt.addrUsed[m.ip]--; rt.addrUsed[m.ip] <= 0 {
		delete(rt.addrUsed, m.ip)
	}
}

// liveSockets returns the open sockets of player pid.
func (rt *Runtime) liveSockets(pid uuid.UUID) []Socket {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	p := rt.players[pid]
	if p == nil {
		return nil
	}
	out := make([]Socket, 0, len(p.sockets))
	for _, st := range p.sockets {
		out = append(out, st.s)
	}
	return out
}

var (
	// errNotMember is returned by Context methods given a player who is
	// not a member.
	errNotMember = errors.New("room: not a member")
	// errMoved answers a frame queued in a room that was evicted: the
	// runtime places the frame again.
	errMoved = errors.New("room: moved")
	// errEnded is what joined says of a socket that has ended.
	errEnded = errors.New("room: socket ended")
)

// ClientIP is the address the socket came from.
func (s Socket) ClientIP() string { return s.ip }
