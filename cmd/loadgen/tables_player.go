package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"

	"github.com/bigtwo/gateway/gateway/room/bigtwo"
)

// A load-tool player of the tables mode: what it reads and keeps, and how
// it chooses its move from what it sees.

// threeDiamonds is 3D, card 0 (see package bigtwo): the first play of a
// table must contain it.
const threeDiamonds bigtwo.Card = 0

// view is what one member knows: its seat, its cards, the latest state.
// The latest game.hand and game.state are kept as read and decoded when
// the member looks at them: a player decodes its own state when it may
// be its turn, which keeps the tool's CPU for reading.
type view struct {
	seat     int // -1 until game.seated
	hand     []bigtwo.Card
	handRaw  []byte // the latest game.hand frame, nil once decoded
	state    tableState
	seated   int    // players seated in state
	stateRaw []byte // the latest game.state frame, nil once decoded
}

// current returns the latest game.state.
func (v *view) current() tableState {
	if v.stateRaw != nil {
		var fr tablesFrame
		if json.Unmarshal(v.stateRaw, &fr) == nil {
			v.state = fr.Data.tableState
		}
		// Only the sitting needs the seats: counted, not decoded.
		v.seated = bytes.Count(v.stateRaw, []byte(`"player":{`))
		v.stateRaw = nil
	}
	return v.state
}

// cards returns the latest game.hand.
func (v *view) cards() []bigtwo.Card {
	if v.handRaw != nil {
		var fr tablesFrame
		if json.Unmarshal(v.handRaw, &fr) == nil {
			v.hand = fr.Data.Cards
		}
		v.handRaw = nil
	}
	return v.hand
}

// tableState is the part of game.state the players read.
type tableState struct {
	Status     string        `json:"status"`
	Turn       *int          `json:"turn"`
	Leader     *int          `json:"leader"`
	Current    *bigtwo.Trick `json:"current"`
	Passes     int           `json:"passes"`
	FirstTrick bool          `json:"first_trick"`
}

// tablesFrame is any frame a player reads, decoded once: data holds the
// members of every frame type the players use.
type tablesFrame struct {
	Type string          `json:"type"`
	ID   json.RawMessage `json:"id"`
	Data struct {
		Seat  int           `json:"seat"`  // game.seated
		Cards []bigtwo.Card `json:"cards"` // game.hand
		Code  string        `json:"code"`  // error
		tableState
	} `json:"data"`
}

// frameData returns the data member of the frame b as the gateway writes
// it (type, then id, then data, last), or nil.
func frameData(b []byte) []byte {
	k := bytes.Index(b, []byte(`"data":`))
	if k < 0 || len(b) == 0 || b[len(b)-1] != '}' {
		return nil
	}
	return b[k+len(`"data":`) : len(b)-1]
}

// hasPrefix reports whether b starts with p.
func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}

// idIs reports whether the raw id is the JSON string want.
func idIs(raw json.RawMessage, want string) bool {
	return len(raw) == len(want)+2 && raw[0] == '"' && string(raw[1:len(raw)-1]) == want
}

// moverLocked returns the member whose own view says it is its turn, or
// -1. Member 0's state says whose turn it is; that member then reads its
// own.
func (tb *lgTable) moverLocked() int {
	s := tb.views[0].current()
	if s.Status != "playing" || s.Turn == nil {
		return -1
	}
	for m := range tb.views {
		v := &tb.views[m]
		if v.seat != *s.Turn {
			continue
		}
		own := v.current()
		if own.Status == "playing" && own.Turn != nil && *own.Turn == v.seat && own.Leader != nil {
			return m
		}
		return -1
	}
	return -1
}

// game is the hand as this member sees it: its own cards, the trick.
func (v *view) game() *bigtwo.Game {
	s := v.current()
	g := &bigtwo.Game{Turn: *s.Turn, Leader: *s.Leader, Current: s.Current, Passes: s.Passes, FirstTrick: s.FirstTrick, Winner: -1}
	g.Hands[v.seat] = v.cards()
	return g
}

// randomMove returns a move for seat chosen uniformly among every legal
// play of its hand and, when it may pass, the pass (nil).
func randomMove(g *bigtwo.Game, seat int, rng *rand.Rand) []bigtwo.Card {
	hand := g.Hands[seat]
	sizes := []int{1, 2, 3, 5}
	var cur bigtwo.Play
	count := 0
	if g.Current != nil {
		cur, _ = bigtwo.Classify(g.Current.Cards)
		sizes = []int{cur.Combo.Size()}
		count = 1 // the pass
	}
	var pick []bigtwo.Card
	var idx [5]int
	var try [5]bigtwo.Card
	for _, k := range sizes {
		if k == 0 || k > len(hand) {
			continue
		}
		for i := range k {
			idx[i] = i
		}
		for {
			for i := range k {
				try[i] = hand[idx[i]]
			}
			p, ok := bigtwo.Classify(try[:k])
			if ok && (g.Current == nil || p.Beats(cur)) && (!g.FirstTrick || try[0] == threeDiamonds) {
				count++
				if rng.IntN(count) == 0 {
					pick = append(pick[:0], try[:k]...)
				}
			}
			// The next k indexes in lexicographic order.
			i := k - 1
			for i >= 0 && idx[i] == len(hand)-k+i {
				i--
			}
			if i < 0 {
				break
			}
			idx[i]++
			for j := i + 1; j < k; j++ {
				idx[j] = idx[j-1] + 1
			}
		}
	}
	return pick
}
