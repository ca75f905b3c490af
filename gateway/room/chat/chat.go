// Package chat is the chat rooms (room.* frames) on the room runtime:
// join, leave, say, relay and list, with members listed once per player
// however many tabs they have open (DESIGN.md's room.* table). It owns no
// goroutine and no state outside its rooms.
//
// Its Kind plugs in next to any game's, in a program built on package
// gateway/app (which serves it by default)
//
//	app.Main(app.Options{Kinds: func(e app.Env) []*room.Kind {
//		return []*room.Kind{chat.Kind(), mygame.Kind()}
//	}})
//
// or in a runtime assembled by hand: room.New(log, room.Options{},
// chat.Kind(), ...). A game's own room.relay-style frames may reuse Fields,
// String and ValidName to decode like the chat rooms do.
package chat

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/room"
)

// Limits of the chat rooms.
const (
	// MaxText is the longest room.say text, in Unicode characters.
	MaxText = 1000
	// ListRooms is how many rooms room.list shows (the first by name);
	// its total says how many exist.
	ListRooms = 100
)

// validName is the contract's room name: 1-64 letters, digits, - and _.
var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidName reports whether name is a valid room (or table) name.
func ValidName(name string) bool { return validName.MatchString(name) }

// Member is a member as frames show it; it always comes from the socket's
// identity, never from client data.
type Member struct {
	PlayerID string `json:"player_id"`
	Username string `json:"username"`
}

// MemberOf is p as frames show it.
func MemberOf(p room.Player) Member {
	return Member{PlayerID: p.ID.String(), Username: p.Username}
}

// Kind returns the chat rooms' kind: frames "room.*", rooms made by
// room.join, gone when their last member leaves.
func Kind() *room.Kind {
	return &room.Kind{
		Name:   "chat",
		Prefix: "room.",
		Route:  route,
		New:    func(string) room.Handler { return &chatRoom{} },
		Query:  list,
	}
}

var (
	errBadRoom = gateway.Error{Code: "bad_room", Message: "room names are 1-64 letters, digits, - and _"}
	errBadText = gateway.Error{Code: "bad_request", Message: `room.say needs data {"room","text"} with a text of 1-1000 characters`}
)

func notInRoom(name string) error {
	return gateway.Error{Code: "not_in_room", Message: "you have not joined room " + name}
}

// Fields decodes data, which must be a JSON object, into its members.
// Member names match exactly ("room", never "ROOM"), and the last
// duplicate wins.
func Fields(data json.RawMessage) (map[string]json.RawMessage, bool) {
	var d map[string]json.RawMessage
	if len(data) == 0 || json.Unmarshal(data, &d) != nil || d == nil {
		return nil, false
	}
	return d, true
}

// String decodes a JSON string value.
func String(v json.RawMessage) (string, bool) {
	var s string
	if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

func route(m gateway.Message) (room.Target, error) {
	switch m.Type {
	case "room.list":
		return room.Target{}, nil
	case "room.join", "room.leave", "room.say", "room.relay":
	default:
		return room.Target{}, gateway.Error{Code: "unknown_type", Message: "unknown frame type " + m.Type}
	}
	d, ok := Fields(m.Data)
	if !ok {
		return room.Target{}, gateway.Error{Code: "bad_request", Message: `data must be an object with a "room"`}
	}
	name, ok := String(d["room"])
	if !ok || !ValidName(name) {
		return room.Target{}, errBadRoom
	}
	return room.Target{Room: name, Create: m.Type == "room.join", Missing: notInRoom(name)}, nil
}

// chatRoom is one chat room. Its state is the runtime's member list.
type chatRoom struct{}

type memberEvent struct {
	Room   string `json:"room"`
	Member Member `json:"member"`
}

func frame(typ string, v any) gateway.Message {
	data, _ := json.Marshal(v) // only the package's own structs
	return gateway.Message{Type: typ, Data: data}
}

func (*chatRoom) Message(r *room.Context, s room.Socket, m gateway.Message) error {
	if m.Type == "room.join" {
		first, err := r.Join(s)
		if err != nil {
			return err
		}
		members := r.Members()
		list := make([]Member, len(members))
		for i, mem := range members {
			list[i] = MemberOf(mem.Player)
		}
		r.Reply(frame("room.joined", struct {
			Room    string   `json:"room"`
			Members []Member `json:"members"`
		}{r.Name(), list}))
		if first {
			r.BroadcastExcept(s.Player.ID, frame("room.member_joined", memberEvent{r.Name(), MemberOf(s.Player)}))
		}
		return nil
	}
	if !r.In(s) {
		return notInRoom(r.Name())
	}
	d, _ := Fields(m.Data) // Route checked it
	switch m.Type {
	case "room.leave":
		last := r.LeaveSocket(s)
		r.Reply(frame("room.left", struct {
			Room string `json:"room"`
		}{r.Name()}))
		if last {
			r.Broadcast(frame("room.member_left", memberEvent{r.Name(), MemberOf(s.Player)}))
		}
	case "room.say":
		text, ok := String(d["text"])
		if n := utf8.RuneCountInString(text); !ok || n < 1 || n > MaxText {
			return errBadText
		}
		r.Broadcast(frame("room.message", struct {
			Room string `json:"room"`
			From Member `json:"from"`
			Text string `json:"text"`
		}{r.Name(), MemberOf(s.Player), text}))
	case "room.relay":
		data := d["data"]
		if len(data) == 0 {
			data = json.RawMessage("null")
		}
		r.BroadcastExcept(s.Player.ID, frame("room.relay", struct {
			Room string          `json:"room"`
			From Member          `json:"from"`
			Data json.RawMessage `json:"data"`
		}{r.Name(), MemberOf(s.Player), data}))
	}
	return nil
}

// Leave tells the others that a member dropped or lost their session.
func (*chatRoom) Leave(r *room.Context, p room.Player, why room.Reason) {
	r.Broadcast(frame("room.member_left", memberEvent{r.Name(), MemberOf(p)}))
}

// list answers room.list with the first ListRooms rooms by name and the
// total number of rooms.
func list(q room.Query, s room.Socket, m gateway.Message) error {
	type entry struct {
		Room    string `json:"room"`
		Members int    `json:"members"`
	}
	rooms := q.Rooms()
	slices.SortFunc(rooms, func(a, b room.Info) int { return strings.Compare(a.Name, b.Name) })
	out := make([]entry, 0, min(len(rooms), ListRooms))
	for _, i := range rooms[:min(len(rooms), ListRooms)] {
		out = append(out, entry{i.Name, i.Members})
	}
	return q.Reply(frame("room.list", struct {
		Rooms []entry `json:"rooms"`
		Total int     `json:"total"`
	}{out, len(rooms)}))
}
