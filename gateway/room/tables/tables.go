// Package tables is the Big Two tables (game.* frames) on the room
// runtime: seats bound to players, the rules of package bigtwo, a turn
// timer, bots, and every frame and error code of DESIGN.md's "Big Two
// tables" section. Its Kind plugs into room.New next to the chat rooms.
//
// A table is a room: seated players are held members (every socket of
// theirs is at the table, a new one is resynced with game.state and
// game.hand), watchers are members by socket. Its whole state is a State,
// a plain value with a versioned encoding.
package tables

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/room"
	"github.com/bigtwo/gateway/gateway/room/bigtwo"
	"github.com/bigtwo/gateway/gateway/room/chat"
)

// Options tunes the tables. The zero value of every field means its default.
type Options struct {
	// TurnTimeout is a turn's deadline; then the bot move is played for
	// the seat. Defaults to 30s.
	TurnTimeout time.Duration
	// SeatGrace is how long a seated player may be away between hands
	// before their seat is freed. Defaults to 2m.
	SeatGrace time.Duration
	// Rand is the source of the deal. Defaults to crypto/rand.Reader.
	Rand io.Reader
	// ListTables is how many tables game.list shows (the first by name).
	// Defaults to 100.
	ListTables int
}

// DefaultOptions returns the default of every setting that has one: the
// values the zero Options stands for, and the defaults the gateway's
// settings show. It is the only place they are written.
func DefaultOptions() Options {
	return Options{
		TurnTimeout: 30 * time.Second,
		SeatGrace:   2 * time.Minute,
		ListTables:  100,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.TurnTimeout <= 0 {
		o.TurnTimeout = d.TurnTimeout
	}
	if o.SeatGrace <= 0 {
		o.SeatGrace = d.SeatGrace
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.ListTables <= 0 {
		o.ListTables = d.ListTables
	}
	return o
}

// Kind returns the tables' kind: frames "game.*", a table made by the
// first game.sit or game.watch of its name, gone when no one is at it.
func Kind(opts Options) *room.Kind {
	opts = opts.withDefaults()
	return &room.Kind{
		Name:   "table",
		Prefix: "game.",
		Route:  route,
		New: func(name string) room.Handler {
			return &table{opts: opts, s: State{Name: name}}
		},
		Restore: func(name string, state []byte) (room.Handler, error) { return restore(opts, name, state) },
		Query:   func(q room.Query, s room.Socket, m gateway.Message) error { return list(q, opts.ListTables) },
	}
}

// Errors of the tables, by wire code.
var (
	errBadTable    = gateway.Error{Code: "bad_table", Message: "table names are 1-64 letters, digits, - and _"}
	errNoGame      = gateway.Error{Code: "no_game", Message: "no hand is being played at this table"}
	errNotSeated   = gateway.Error{Code: "not_seated", Message: "you have no seat at this table"}
	errTableFull   = gateway.Error{Code: "table_full", Message: "every seat at this table is taken"}
	errInProgress  = gateway.Error{Code: "game_in_progress", Message: "a hand is being played: wait for it to end"}
	errNotEnough   = gateway.Error{Code: "not_enough_players", Message: "four players are needed, or start with bots"}
	errBadCards    = gateway.Error{Code: "invalid_cards", Message: `cards must be an array of card codes such as "3D"`}
	errBadRequest  = gateway.Error{Code: "bad_request", Message: `data must be an object with a "table"`}
	errUnknownType = "unknown frame type "
)

// ruleErrors are the messages of the rule errors, by wire code.
var ruleErrors = map[string]string{
	"no_game":             "no hand is being played at this table",
	"not_your_turn":       "it is not your turn",
	"invalid_cards":       "unknown or repeated card code",
	"cards_not_in_hand":   "you do not hold those cards",
	"invalid_combination": "those cards make no combination",
	"does_not_beat":       "that does not beat the cards on the table (same number of cards, higher)",
	"must_play_3d":        "the first play of the table must contain 3D",
	"cannot_pass_on_lead": "you lead this trick: play something",
}

// ruleError is a rule error of package bigtwo as an error frame.
func ruleError(err error) error {
	code := bigtwo.Code(err)
	if code == "" {
		return err
	}
	return gateway.Error{Code: code, Message: ruleErrors[code]}
}

func route(m gateway.Message) (room.Target, error) {
	switch m.Type {
	case "game.list":
		return room.Target{}, nil
	case "game.sit", "game.watch":
	case "game.stand", "game.start":
	case "game.play", "game.pass":
	default:
		return room.Target{}, gateway.Error{Code: "unknown_type", Message: errUnknownType + m.Type}
	}
	d, ok := chat.Fields(m.Data)
	if !ok {
		return room.Target{}, errBadRequest
	}
	name, ok := chat.String(d["table"])
	if !ok || !chat.ValidName(name) {
		return room.Target{}, errBadTable
	}
	t := room.Target{Room: name, Create: m.Type == "game.sit" || m.Type == "game.watch"}
	switch m.Type {
	case "game.play", "game.pass":
		t.Missing = errNoGame
	default:
		t.Missing = errNotSeated
	}
	return t, nil
}

// list answers game.list.
func list(q room.Query, limit int) error {
	type entry struct {
		Table  string `json:"table"`
		Seated int    `json:"seated"`
		Status string `json:"status"`
	}
	rooms := q.Rooms()
	slices.SortFunc(rooms, func(a, b room.Info) int { return strings.Compare(a.Name, b.Name) })
	out := make([]entry, 0, min(len(rooms), limit))
	for _, i := range rooms[:min(len(rooms), limit)] {
		e := entry{Table: i.Name, Status: "waiting"}
		switch s := i.Summary.(type) {
		case summary:
			e.Seated, e.Status = s.Seated, s.Status
		case json.RawMessage: // a table of another gateway
			var sum summary
			if json.Unmarshal(s, &sum) == nil && sum.Status != "" {
				e.Seated, e.Status = sum.Seated, sum.Status
			}
		}
		out = append(out, e)
	}
	return q.Reply(frame("game.list", struct {
		Tables []entry `json:"tables"`
		Total  int     `json:"total"`
	}{out, len(rooms)}))
}

// summary is what a table shows in listings.
type summary struct {
	Seated int    `json:"seated"`
	Status string `json:"status"`
}

func frame(typ string, v any) gateway.Message {
	data, _ := json.Marshal(v) // only the package's own types
	return gateway.Message{Type: typ, Data: data}
}
