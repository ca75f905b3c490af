// Package example is a complete small game on the room runtime, the one
// docs/ROOMS.md walks through: "guess the number". Each room plays rounds;
// in each the server picks a number from 1 to 100, players guess, and each
// guess gets a hint that only its player sees. The first right guess wins
// the round; a round nobody wins ends at its deadline. A player who drops
// keeps their tries for a grace period and gets their view back on any new
// socket, unasked.
//
// Assemble it like any room kind: pass Kind to room.New, or to app.Options
// next to the chat rooms:
//
//	app.Main(app.Options{Kinds: func(e app.Env) []*room.Kind {
//		return []*room.Kind{chat.Kind(), example.Kind(example.Options{Grace: e.SeatGrace, Log: e.Log})}
//	}})
//
// Frames (data always names the room):
//
//	guess.join  {"room"}           -> guess.joined (your view); others: guess.player_joined
//	guess.guess {"room","number"}  -> guess.hint to you only; on a win, everyone: guess.won
//	guess.leave {"room"}           -> guess.left; others: guess.player_left
//
// and unasked: guess.state (your view, on a new socket of yours),
// guess.round (a new round), guess.timeout (nobody won), guess.player_away,
// guess.player_back and guess.player_left with a reason (left, dropped or
// revoked).
package example

import (
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"time"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/room"
	"github.com/google/uuid"
)

// Options tunes the game. The zero value of every field means its default.
type Options struct {
	// Grace is how long a player who dropped keeps their place and tries.
	// Defaults to 2 minutes.
	Grace time.Duration
	// Round is how long a round lasts. Defaults to 1 minute.
	Round time.Duration
	// Pause is the time between a round's end and the next. Defaults to 3s.
	Pause time.Duration
	// Secret picks a round's number, from 1 to 100. Defaults to random.
	Secret func() int
	// Log receives a line when a room stops. Defaults to slog.Default().
	Log *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Grace <= 0 {
		o.Grace = 2 * time.Minute
	}
	if o.Round <= 0 {
		o.Round = time.Minute
	}
	if o.Pause <= 0 {
		o.Pause = 3 * time.Second
	}
	if o.Secret == nil {
		o.Secret = func() int { return 1 + rand.IntN(100) }
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o
}

// Kind returns the game's room kind: frames "guess.*", a room made by the
// first guess.join of its name, gone when its last player is.
func Kind(opts Options) *room.Kind {
	opts = opts.withDefaults()
	return &room.Kind{
		Name:   "guess",
		Prefix: "guess.",
		Route:  route,
		New: func(string) room.Handler {
			return &game{opts: opts, tries: map[uuid.UUID]int{}, away: map[uuid.UUID]bool{}}
		},
	}
}

var (
	validName    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	errBadRoom   = gateway.Error{Code: "bad_room", Message: "room names are 1-64 letters, digits, - and _"}
	errNotJoined = gateway.Error{Code: "not_joined", Message: "join the room first"}
	errBadGuess  = gateway.Error{Code: "bad_request", Message: `guess.guess needs data {"room","number"} with a number from 1 to 100`}
	errRoundOver = gateway.Error{Code: "round_over", Message: "the next round has not started yet"}
)

// route runs outside any room: it only decodes which room a frame is for.
func route(m gateway.Message) (room.Target, error) {
	var d struct {
		Room string `json:"room"`
	}
	if json.Unmarshal(m.Data, &d) != nil || !validName.MatchString(d.Room) {
		return room.Target{}, errBadRoom
	}
	switch m.Type {
	case "guess.join":
		return room.Target{Room: d.Room, Create: true}, nil
	case "guess.guess", "guess.leave":
		return room.Target{Room: d.Room, Missing: errNotJoined}, nil
	}
	return room.Target{}, gateway.Error{Code: "unknown_type", Message: "unknown frame type " + m.Type}
}

// game is one room. The runtime calls it one event at a time: no locks.
type game struct {
	opts   Options
	round  int
	secret int                // 0 between rounds
	tries  map[uuid.UUID]int  // this round's guesses per player: private
	away   map[uuid.UUID]bool // players whose last socket dropped
	timer  *room.Timer        // the round's deadline, or the pause after it
}

// Frames' data.
type (
	player struct {
		ID       uuid.UUID `json:"player_id"`
		Username string    `json:"username"`
		Away     bool      `json:"away"`
	}
	view struct {
		Room    string   `json:"room"`
		Round   int      `json:"round"`
		Playing bool     `json:"playing"` // false between rounds
		Tries   int      `json:"tries"`   // yours, this round
		Players []player `json:"players"`
	}
	hint struct {
		Room   string `json:"room"`
		Number int    `json:"number"`
		Hint   string `json:"hint"` // higher, lower or correct
		Tries  int    `json:"tries"`
	}
	won struct {
		Room   string `json:"room"`
		Round  int    `json:"round"`
		Number int    `json:"number"`
		Winner player `json:"winner"`
		Tries  int    `json:"tries"`
	}
	news struct {
		Room   string  `json:"room"`
		Round  int     `json:"round,omitempty"`
		Number int     `json:"number,omitempty"`
		Player *player `json:"player,omitempty"`
		Reason string  `json:"reason,omitempty"`
	}
)

func frame(typ string, v any) gateway.Message {
	data, _ := json.Marshal(v) // only the types above
	return gateway.Message{Type: typ, Data: data}
}

func playerOf(p room.Player) *player { return &player{ID: p.ID, Username: p.Username} }

// view is what player p sees: the public state and their own tries.
func (g *game) view(r *room.Context, p uuid.UUID) view {
	v := view{Room: r.Name(), Round: g.round, Playing: g.secret != 0, Tries: g.tries[p], Players: []player{}}
	for _, m := range r.Members() {
		v.Players = append(v.Players, player{m.Player.ID, m.Player.Username, !m.AwaySince.IsZero()})
	}
	return v
}

func (g *game) Message(r *room.Context, s room.Socket, m gateway.Message) error {
	if m.Type == "guess.join" {
		first, err := r.Join(s)
		if err != nil {
			return err
		}
		// Held: every socket of theirs is in the room, and a drop is not a
		// leave until the grace runs out.
		if err := r.Hold(s.Player.ID, g.opts.Grace); err != nil {
			return err
		}
		if g.round == 0 {
			g.start(r)
		}
		r.Reply(frame("guess.joined", g.view(r, s.Player.ID)))
		if first {
			r.BroadcastExcept(s.Player.ID, frame("guess.player_joined", news{Room: r.Name(), Player: playerOf(s.Player)}))
		}
		return nil
	}
	if !r.In(s) {
		return errNotJoined
	}
	switch m.Type {
	case "guess.leave":
		r.Remove(s.Player.ID) // the room asked: no Leave call follows
		r.Reply(frame("guess.left", news{Room: r.Name()}))
		g.left(r, s.Player, room.Left)
	case "guess.guess":
		var d struct {
			Number int `json:"number"`
		}
		if json.Unmarshal(m.Data, &d) != nil || d.Number < 1 || d.Number > 100 {
			return errBadGuess
		}
		if g.secret == 0 {
			return errRoundOver
		}
		g.tries[s.Player.ID]++
		h := hint{Room: r.Name(), Number: d.Number, Hint: "correct", Tries: g.tries[s.Player.ID]}
		switch {
		case d.Number < g.secret:
			h.Hint = "higher"
		case d.Number > g.secret:
			h.Hint = "lower"
		}
		// Private: to the player's every socket; the asking one's copy is
		// the reply, with the request's id.
		r.Send(s.Player.ID, frame("guess.hint", h))
		if h.Hint == "correct" {
			r.Broadcast(frame("guess.won", won{r.Name(), g.round, g.secret, *playerOf(s.Player), h.Tries}))
			g.end(r)
		}
	}
	return nil
}

// start begins a round, with its deadline.
func (g *game) start(r *room.Context) {
	g.round++
	g.secret = g.opts.Secret()
	clear(g.tries)
	g.timer = r.After(g.opts.Round, func(r *room.Context) {
		r.Broadcast(frame("guess.timeout", news{Room: r.Name(), Round: g.round, Number: g.secret}))
		g.end(r)
	})
}

// end ends the round; the next starts after the pause.
func (g *game) end(r *room.Context) {
	g.secret = 0
	g.timer.Stop()
	g.timer = r.After(g.opts.Pause, func(r *room.Context) {
		g.start(r)
		r.Broadcast(frame("guess.round", news{Room: r.Name(), Round: g.round}))
	})
}

func (g *game) left(r *room.Context, p room.Player, why room.Reason) {
	delete(g.tries, p.ID)
	delete(g.away, p.ID)
	r.Broadcast(frame("guess.player_left", news{Room: r.Name(), Player: playerOf(p), Reason: why.String()}))
}

// Leave: a player's grace ran out (Dropped) or their session was revoked.
func (g *game) Leave(r *room.Context, p room.Player, why room.Reason) { g.left(r, p, why) }

// Away: a player's last socket dropped; they keep their place.
func (g *game) Away(r *room.Context, p room.Player) {
	g.away[p.ID] = true
	r.BroadcastExcept(p.ID, frame("guess.player_away", news{Room: r.Name(), Player: playerOf(p)}))
}

// Return: a new socket of a player is in the room (a reconnect or another
// tab): it gets the player's view, unasked.
func (g *game) Return(r *room.Context, s room.Socket) {
	r.SendSocket(s, frame("guess.state", g.view(r, s.Player.ID)))
	if g.away[s.Player.ID] {
		delete(g.away, s.Player.ID)
		r.BroadcastExcept(s.Player.ID, frame("guess.player_back", news{Room: r.Name(), Player: playerOf(s.Player)}))
	}
}

// Stop: the server shuts down. A game that can hand its state off would
// do it here; this one only says so.
func (g *game) Stop(r *room.Context) {
	g.opts.Log.Info("guess room stopped", "room", r.Name(), "round", g.round)
}
