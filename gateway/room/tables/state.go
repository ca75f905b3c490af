package tables

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/bigtwo/gateway/gateway/room"
	"github.com/bigtwo/gateway/gateway/room/bigtwo"
)

// StateVersion is the version of State's encoding; Decode refuses others.
const StateVersion = 1

// State is a table's whole state as a plain value: what the cluster
// stores and what a table is restored from. Its JSON encoding is stable
// (field names are part of it) and carries StateVersion.
type State struct {
	Version int    `json:"v"`
	Name    string `json:"name"`
	// HandNo is how many hands were dealt at the table.
	HandNo int `json:"hand_no"`
	// Seats are the four seats.
	Seats [bigtwo.Seats]Seat `json:"seats"`
	// Game is the hand being played, nil between hands.
	Game *bigtwo.Game `json:"game"`
	// Leader leads the next hand: the last hand's winner.
	Leader int `json:"leader"`
	// Deadline is the current turn's deadline, zero between hands.
	Deadline time.Time `json:"deadline"`
}

// Seat is one seat of a table.
type Seat struct {
	// Player sits here, nil for an empty or a bot-filled seat.
	Player *room.Player `json:"player"`
	// Bot is true when the bot plays the seat: a seat filled by
	// game.start with bots, or the seat of a player who stood up or whose
	// session was revoked during a hand (Leaving).
	Bot bool `json:"bot"`
	// Leaving: the player gave the seat up during a hand; it is freed
	// when the hand ends.
	Leaving bool `json:"leaving"`
	// AwaySince is when the seated player's last socket ended; zero while
	// they have one.
	AwaySince time.Time `json:"away_since"`
	// Score is the seat's score over the table's hands.
	Score int `json:"score"`
}

// Encode writes s out whole.
func (s State) Encode() ([]byte, error) {
	s.Version = StateVersion
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode table %s: %w", s.Name, err)
	}
	return b, nil
}

// DecodeState reads a State written by Encode.
func DecodeState(b []byte) (State, error) {
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("decode table state: %w", err)
	}
	if s.Version != StateVersion {
		return State{}, fmt.Errorf("decode table state: version %d, want %d", s.Version, StateVersion)
	}
	return s, nil
}

// seatOf returns the seat of player id that is theirs (not Leaving), or -1.
func (s *State) seatOf(id room.Player) int {
	for i, st := range s.Seats {
		if st.Player != nil && st.Player.ID == id.ID && !st.Leaving {
			return i
		}
	}
	return -1
}

// playing reports whether a hand is being played.
func (s *State) playing() bool { return s.Game != nil }

// Wire shapes of game.state.
type wireState struct {
	Table      string     `json:"table"`
	Status     string     `json:"status"`
	HandNo     int        `json:"hand_no"`
	Seats      []wireSeat `json:"seats"`
	Turn       *int       `json:"turn"`
	Leader     *int       `json:"leader"`
	Current    *wireTrick `json:"current"`
	Passes     int        `json:"passes"`
	FirstTrick bool       `json:"first_trick"`
	Deadline   *time.Time `json:"turn_deadline"`
}

type wireSeat struct {
	Seat   int         `json:"seat"`
	Player *wirePlayer `json:"player"`
	Bot    bool        `json:"bot"`
	Away   bool        `json:"away"`
	Cards  int         `json:"cards"`
	Score  int         `json:"score"`
}

type wirePlayer struct {
	PlayerID string `json:"player_id"`
	Username string `json:"username"`
}

type wireTrick struct {
	Seat  int           `json:"seat"`
	Cards []bigtwo.Card `json:"cards"`
	Combo bigtwo.Combo  `json:"combo"`
}

// public is the game.state of s.
func (s *State) public() wireState {
	w := wireState{Table: s.Name, Status: "waiting", HandNo: s.HandNo, Seats: make([]wireSeat, bigtwo.Seats)}
	for i, st := range s.Seats {
		ws := wireSeat{Seat: i, Bot: st.Bot, Away: !st.AwaySince.IsZero(), Score: st.Score}
		if st.Player != nil {
			ws.Player = &wirePlayer{st.Player.ID.String(), st.Player.Username}
		}
		if s.Game != nil {
			ws.Cards = len(s.Game.Hands[i])
		}
		w.Seats[i] = ws
	}
	if g := s.Game; g != nil {
		w.Status = "playing"
		turn, leader := g.Turn, g.Leader
		w.Turn, w.Leader = &turn, &leader
		if g.Current != nil {
			w.Current = &wireTrick{g.Current.Seat, g.Current.Cards, g.Current.Combo}
		}
		w.Passes = g.Passes
		w.FirstTrick = g.FirstTrick
		d := s.Deadline.UTC()
		w.Deadline = &d
	}
	return w
}
