// Package room is the reference room module: in-memory rooms with chat and
// relay of game frames between members, enough to play with from a browser
// or websocat and to show that identity comes from the gateway. A real Big
// Two room module replaces it by implementing gateway.Handler.
package room

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/bigtwo/gateway/gateway"
	"github.com/rs/zerolog"
)

var _ gateway.Handler = (*Rooms)(nil)

// validName is the contract's room name: 1-64 letters, digits, - and _.
var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Member is a room member as frames show it; it always comes from the
// socket's identity, never from client data.
type Member struct {
	PlayerID string `json:"player_id"`
	Username string `json:"username"`
}

// Limits bound what clients can make the reference room module hold. The
// zero value of a field means its default.
type Limits struct {
	// RoomsPerConn is how many rooms one socket may be in at once; past it
	// room.join gets a too_many_rooms error frame. Defaults to 16.
	RoomsPerConn int
	// MembersPerRoom is how many sockets one room may hold; past it
	// room.join gets room_full. Defaults to 64.
	MembersPerRoom int
	// Rooms is how many rooms may exist at once; past it joining a new
	// room gets room_limit_reached. Defaults to 10,000.
	Rooms int
	// ListRooms is how many rooms room.list shows (the first by name);
	// its total says how many exist. Defaults to 100.
	ListRooms int
}

func (l Limits) withDefaults() Limits {
	if l.RoomsPerConn <= 0 {
		l.RoomsPerConn = 16
	}
	if l.MembersPerRoom <= 0 {
		l.MembersPerRoom = 64
	}
	if l.Rooms <= 0 {
		l.Rooms = 10000
	}
	if l.ListRooms <= 0 {
		l.ListRooms = 100
	}
	return l
}

// Rooms is the reference gateway.Handler. Rooms exist while they have
// members. It is safe for concurrent use: a read-write mutex guards the
// set of rooms and memberships, and each room's mutex orders its fan-out,
// so unrelated rooms do not wait for each other.
type Rooms struct {
	log    zerolog.Logger
	limits Limits

	mu     sync.RWMutex
	rooms  map[string]*room
	joined map[*gateway.Conn]map[string]*room // lock order: mu, then room.mu
}

type room struct {
	name    string
	mu      sync.Mutex
	seq     uint64
	members map[*gateway.Conn]uint64 // join order, for listings
}

// New returns an empty set of rooms with the default Limits.
func New(log zerolog.Logger) *Rooms {
	return NewWithLimits(log, Limits{})
}

// NewWithLimits returns an empty set of rooms bounded by limits.
func NewWithLimits(log zerolog.Logger, limits Limits) *Rooms {
	return &Rooms{
		log:    log,
		limits: limits.withDefaults(),
		rooms:  make(map[string]*room),
		joined: make(map[*gateway.Conn]map[string]*room),
	}
}

// Connect implements gateway.Handler; a socket starts in no room.
func (rs *Rooms) Connect(ctx context.Context, c *gateway.Conn) error { return nil }

// Disconnect implements gateway.Handler: the socket leaves every room.
func (rs *Rooms) Disconnect(c *gateway.Conn, reason error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, r := range rs.joined[c] {
		rs.leaveLocked(c, r, nil, false)
	}
	delete(rs.joined, c)
}

// Message implements gateway.Handler.
func (rs *Rooms) Message(ctx context.Context, c *gateway.Conn, m gateway.Message) error {
	switch {
	case m.Type == "room.join":
		return rs.join(c, m)
	case m.Type == "room.leave":
		return rs.leave(c, m)
	case m.Type == "room.say":
		return rs.say(c, m)
	case m.Type == "room.list":
		return rs.list(c, m)
	case strings.HasPrefix(m.Type, "game."):
		return rs.relay(c, m)
	default:
		return gateway.Error{Code: "unknown_type", Message: "unknown frame type " + m.Type}
	}
}

func memberOf(c *gateway.Conn) Member {
	id := c.Identity()
	return Member{PlayerID: id.PlayerID.String(), Username: id.Username}
}

// errBadRoom answers a missing, non-string or invalid room name.
var errBadRoom = gateway.Error{Code: "bad_room", Message: "room names are 1-64 letters, digits, - and _"}

// fields decodes data, which must be a JSON object, into its members.
// Member names match exactly ("room", never "ROOM"), as the relay of
// game.* frames matches them, and the last duplicate wins.
func fields(data json.RawMessage) (map[string]json.RawMessage, bool) {
	var d map[string]json.RawMessage
	if len(data) == 0 || json.Unmarshal(data, &d) != nil || d == nil {
		return nil, false
	}
	return d, true
}

// roomName decodes the "room" member of data.
func roomName(data json.RawMessage) (string, error) {
	d, ok := fields(data)
	if !ok {
		return "", gateway.Error{Code: "bad_request", Message: `data must be an object with a "room"`}
	}
	name, ok := stringValue(d["room"])
	if !ok || !validName.MatchString(name) {
		return "", errBadRoom
	}
	return name, nil
}

func frame(typ string, id json.RawMessage, v any) gateway.Message {
	data, _ := json.Marshal(v) // only the package's own structs
	return gateway.Message{Type: typ, ID: id, Data: data}
}

func (rs *Rooms) join(c *gateway.Conn, m gateway.Message) error {
	name, err := roomName(m.Data)
	if err != nil {
		return err
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.rooms[name]
	if r == nil {
		if len(rs.rooms) >= rs.limits.Rooms {
			return gateway.Error{Code: "room_limit_reached", Message: "the server holds as many rooms as it can: join an existing one"}
		}
		if len(rs.joined[c]) >= rs.limits.RoomsPerConn {
			return tooManyRooms(rs.limits.RoomsPerConn)
		}
		r = &room{name: name, members: make(map[*gateway.Conn]uint64)}
		rs.rooms[name] = r
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.members[c]; !ok {
		if len(rs.joined[c]) >= rs.limits.RoomsPerConn {
			return tooManyRooms(rs.limits.RoomsPerConn)
		}
		if len(r.members) >= rs.limits.MembersPerRoom {
			return gateway.Error{Code: "room_full", Message: fmt.Sprintf("room %s has %d members, the most it may", name, len(r.members))}
		}
		r.seq++
		r.members[c] = r.seq
		if rs.joined[c] == nil {
			rs.joined[c] = make(map[string]*room)
		}
		rs.joined[c][name] = r
		joinedEvent := gateway.NewPreparedMessage(frame("room.member_joined", nil, struct {
			Room   string `json:"room"`
			Member Member `json:"member"`
		}{name, memberOf(c)}))
		for o := range r.members {
			if o != c {
				_ = o.SendPrepared(joinedEvent) // a slow member is closed by the gateway
			}
		}
	}
	return c.Send(frame("room.joined", m.ID, struct {
		Room    string   `json:"room"`
		Members []Member `json:"members"`
	}{name, r.membersLocked()}))
}

// membersLocked lists the members in join order.
func (r *room) membersLocked() []Member {
	conns := make([]*gateway.Conn, 0, len(r.members))
	for c := range r.members {
		conns = append(conns, c)
	}
	slices.SortFunc(conns, func(a, b *gateway.Conn) int { return cmp.Compare(r.members[a], r.members[b]) })
	ms := make([]Member, len(conns))
	for i, c := range conns {
		ms[i] = memberOf(c)
	}
	return ms
}

func (rs *Rooms) leave(c *gateway.Conn, m gateway.Message) error {
	name, err := roomName(m.Data)
	if err != nil {
		return err
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.joined[c][name]
	if r == nil {
		return notInRoom(name)
	}
	rs.leaveLocked(c, r, m.ID, true)
	if len(rs.joined[c]) == 0 {
		delete(rs.joined, c)
	}
	return nil
}

// leaveLocked removes c from r, tells the others, and the leaver too when
// reply is set. rs.mu must be held.
func (rs *Rooms) leaveLocked(c *gateway.Conn, r *room, id json.RawMessage, reply bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.members, c)
	delete(rs.joined[c], r.name)
	if len(r.members) == 0 {
		delete(rs.rooms, r.name)
	}
	left := gateway.NewPreparedMessage(frame("room.member_left", nil, struct {
		Room   string `json:"room"`
		Member Member `json:"member"`
	}{r.name, memberOf(c)}))
	for o := range r.members {
		_ = o.SendPrepared(left)
	}
	if reply {
		_ = c.Send(frame("room.left", id, struct {
			Room string `json:"room"`
		}{r.name}))
	}
}

func tooManyRooms(max int) error {
	return gateway.Error{Code: "too_many_rooms", Message: fmt.Sprintf("a socket may be in at most %d rooms: leave one first", max)}
}

func notInRoom(name string) error {
	return gateway.Error{Code: "not_in_room", Message: "you have not joined room " + name}
}

// member returns c's room name, with rs.mu read-locked and the room locked;
// the caller must unlock both with the returned function.
func (rs *Rooms) member(c *gateway.Conn, name string) (*room, func(), error) {
	rs.mu.RLock()
	r := rs.joined[c][name]
	if r == nil {
		rs.mu.RUnlock()
		return nil, nil, notInRoom(name)
	}
	r.mu.Lock()
	return r, func() { r.mu.Unlock(); rs.mu.RUnlock() }, nil
}

func (rs *Rooms) say(c *gateway.Conn, m gateway.Message) error {
	var d struct{ Room, Text string }
	f, ok := fields(m.Data)
	if ok {
		d.Text, ok = stringValue(f["text"])
	}
	if !ok || d.Text == "" {
		return gateway.Error{Code: "bad_request", Message: `room.say needs data {"room","text"}`}
	}
	if d.Room, ok = stringValue(f["room"]); !ok || !validName.MatchString(d.Room) {
		return errBadRoom
	}
	r, unlock, err := rs.member(c, d.Room)
	if err != nil {
		return err
	}
	defer unlock()
	msg := struct {
		Room string `json:"room"`
		From Member `json:"from"`
		Text string `json:"text"`
	}{d.Room, memberOf(c), d.Text}
	others := frame("room.message", nil, msg)
	prepared := gateway.NewPreparedMessage(others)
	for o := range r.members {
		if o == c {
			_ = o.Send(gateway.Message{Type: others.Type, ID: m.ID, Data: others.Data})
		} else {
			_ = o.SendPrepared(prepared)
		}
	}
	return nil
}

// relay sends a game.* frame to the room's other members as sent, with the
// sender's identity put in data's "from" (a client-supplied one is
// overwritten), encoded once for all of them.
func (rs *Rooms) relay(c *gateway.Conn, m gateway.Message) error {
	from, _ := json.Marshal(memberOf(c)) // strings always marshal
	data, rawRoom, ok := withFrom(m.Data, from)
	if !ok {
		return gateway.Error{Code: "bad_request", Message: `game frames need data {"room",...}`}
	}
	name, ok := stringValue(rawRoom)
	if !ok || !validName.MatchString(name) {
		return errBadRoom
	}
	r, unlock, err := rs.member(c, name)
	if err != nil {
		return err
	}
	defer unlock()
	out := gateway.NewPreparedMessage(gateway.Message{Type: m.Type, Data: data})
	for o := range r.members {
		if o != c {
			_ = o.SendPrepared(out) // a slow member is closed by the gateway
		}
	}
	return nil
}

// list answers room.list with the first ListRooms rooms by name and the
// total number of rooms.
func (rs *Rooms) list(c *gateway.Conn, m gateway.Message) error {
	type entry struct {
		Room    string `json:"room"`
		Members int    `json:"members"`
	}
	limit := rs.limits.ListRooms
	rs.mu.RLock()
	total := len(rs.rooms)
	rooms := make([]entry, 0, min(total, limit))
	for name, r := range rs.rooms {
		// Keep the first limit names, sorted: insert in place, drop the last.
		if len(rooms) == limit && name >= rooms[limit-1].Room {
			continue
		}
		r.mu.Lock()
		e := entry{name, len(r.members)}
		r.mu.Unlock()
		i, _ := slices.BinarySearchFunc(rooms, name, func(e entry, name string) int { return strings.Compare(e.Room, name) })
		if len(rooms) == limit {
			rooms = rooms[:limit-1]
		}
		rooms = slices.Insert(rooms, i, e)
	}
	rs.mu.RUnlock()
	return c.Send(frame("room.list", m.ID, struct {
		Rooms []entry `json:"rooms"`
		Total int     `json:"total"`
	}{rooms, total}))
}
