// Package room is the reference room module: in-memory rooms with chat and
// relay of game frames between members, enough to play with from a browser
// or websocat and to show that identity comes from the gateway. A real Big
// Two room module replaces it by implementing gateway.Handler.
package room

import (
	"cmp"
	"context"
	"encoding/json"
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

// Rooms is the reference gateway.Handler. Rooms exist while they have
// members. It is safe for concurrent use: a read-write mutex guards the
// set of rooms and memberships, and each room's mutex orders its fan-out,
// so unrelated rooms do not wait for each other.
type Rooms struct {
	log zerolog.Logger

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

// New returns an empty set of rooms.
func New(log zerolog.Logger) *Rooms {
	return &Rooms{
		log:    log,
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

// roomName decodes the "room" field of data.
func roomName(data json.RawMessage) (string, error) {
	var d struct {
		Room string `json:"room"`
	}
	if len(data) == 0 || json.Unmarshal(data, &d) != nil {
		return "", gateway.Error{Code: "bad_request", Message: `data must be an object with a "room"`}
	}
	if !validName.MatchString(d.Room) {
		return "", gateway.Error{Code: "bad_room", Message: "room names are 1-64 letters, digits, - and _"}
	}
	return d.Room, nil
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
		r = &room{name: name, members: make(map[*gateway.Conn]uint64)}
		rs.rooms[name] = r
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.members[c]; !ok {
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
	var d struct {
		Room string `json:"room"`
		Text string `json:"text"`
	}
	if len(m.Data) == 0 || json.Unmarshal(m.Data, &d) != nil || d.Text == "" {
		return gateway.Error{Code: "bad_request", Message: `room.say needs data {"room","text"}`}
	}
	if !validName.MatchString(d.Room) {
		return gateway.Error{Code: "bad_room", Message: "room names are 1-64 letters, digits, - and _"}
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
	name, ok := roomString(rawRoom)
	if !ok || !validName.MatchString(name) {
		return gateway.Error{Code: "bad_room", Message: "room names are 1-64 letters, digits, - and _"}
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

func (rs *Rooms) list(c *gateway.Conn, m gateway.Message) error {
	type entry struct {
		Room    string `json:"room"`
		Members int    `json:"members"`
	}
	rs.mu.RLock()
	rooms := make([]entry, 0, len(rs.rooms))
	for name, r := range rs.rooms {
		r.mu.Lock()
		rooms = append(rooms, entry{name, len(r.members)})
		r.mu.Unlock()
	}
	rs.mu.RUnlock()
	slices.SortFunc(rooms, func(a, b entry) int { return strings.Compare(a.Room, b.Room) })
	return c.Send(frame("room.list", m.ID, struct {
		Rooms []entry `json:"rooms"`
	}{rooms}))
}
