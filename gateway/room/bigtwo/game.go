package bigtwo

import (
	"fmt"
	"slices"
)

// Trick is the play the current trick stands at: the last play made in it.
type Trick struct {
	// Seat made the play.
	Seat int `json:"seat"`
	// Cards are the play's cards, sorted ascending.
	Cards []Card `json:"cards"`
	// Combo is the play's class.
	Combo Combo `json:"combo"`
}

// Game is one hand of Big Two as a state machine: the cards each seat
// holds, whose turn it is and where the trick stands. Play and Pass move it
// on; BotMove suggests a move.
//
// A Game is a plain value that encodes to and from JSON. Play and Pass
// replace, never modify, the slices and the Trick they change, so a copy of
// the value (snap := *g) is a snapshot that later moves leave alone. A Game
// is not safe for concurrent use.
type Game struct {
	// Hands are the cards each seat still holds, sorted ascending.
	Hands [Seats][]Card `json:"hands"`
	// Turn is the seat to move. When the hand ends it stays on the winner.
	Turn int `json:"turn"`
	// Leader is the seat that leads, or led, the current trick. While
	// Current is nil it equals Turn.
	Leader int `json:"leader"`
	// Current is the play to beat, nil while the trick waits for its lead.
	Current *Trick `json:"current"`
	// Passes counts the passes since the current play; 0 when a trick ends.
	Passes int `json:"passes"`
	// FirstTrick is true only until the first play of a table's first
	// hand, which must contain 3D.
	FirstTrick bool `json:"first_trick"`
	// Winner is the seat that emptied its hand, -1 until then.
	Winner int `json:"winner"`
}

// NewGame starts a hand with the hands given, which it copies and sorts;
// normally they are the four hands of one Deal. When first is true this
// is a table's first hand: the seat holding 3D leads, leader is ignored,
// and the first play must contain 3D (if no seat holds 3D there is no such
// rule and leader leads). Otherwise leader, the previous hand's winner,
// leads anything. NewGame panics if leader is not a seat when it is used.
func NewGame(hands [Seats][]Card, first bool, leader int) *Game {
	g := &Game{Winner: -1}
	for s, h := range hands {
		g.Hands[s] = append([]Card{}, h...)
		SortCards(g.Hands[s])
		if first && slices.Contains(h, threeDiamonds) {
			leader, g.FirstTrick = s, true
		}
	}
	if leader < 0 || leader >= Seats {
		panic(fmt.Sprintf("bigtwo: NewGame with leader %d, want a seat 0..%d", leader, Seats-1))
	}
	g.Turn, g.Leader = leader, leader
	return g
}

// Over reports whether the hand has ended: a seat has emptied its hand.
func (g *Game) Over() bool { return g.Winner >= 0 }

// Play plays cards, in any order, for seat and returns the play they make
// (its Cards sorted, a copy). When several errors apply the first of these
// is returned: ErrGameOver, ErrNotYourTurn, ErrInvalidCard (wrapped; a
// value that is no card, or a card given twice), ErrCardsNotInHand,
// ErrInvalidCombination (no cards included), ErrDoesNotBeat (a different
// number of cards included), ErrMustPlay3D. On error the Game is unchanged.
//
// A play that empties the seat's hand ends the hand: Winner is set and
// nothing else moves on.
func (g *Game) Play(seat int, cards []Card) (Play, error) {
	if g.Over() {
		return Play{}, ErrGameOver
	}
	if seat != g.Turn {
		return Play{}, ErrNotYourTurn
	}
	if err := checkCards(cards); err != nil {
		return Play{}, err
	}
	hand := g.Hands[seat]
	for _, c := range cards {
		if _, found := slices.BinarySearch(hand, c); !found {
			return Play{}, fmt.Errorf("%s: %w", c, ErrCardsNotInHand)
		}
	}
	sorted := slices.Clone(cards)
	SortCards(sorted)
	p, ok := Classify(sorted)
	if !ok {
		return Play{}, ErrInvalidCombination
	}
	if g.Current != nil {
		if cur, _ := Classify(g.Current.Cards); !p.Beats(cur) {
			return Play{}, ErrDoesNotBeat
		}
	}
	if g.FirstTrick && sorted[0] != threeDiamonds {
		return Play{}, ErrMustPlay3D
	}

	left := make([]Card, 0, len(hand)-len(sorted))
	for _, c := range hand {
		if _, played := slices.BinarySearch(sorted, c); !played {
			left = append(left, c)
		}
	}
	g.Hands[seat] = left
	if g.Current == nil {
		g.Leader = seat
	}
	g.Current = &Trick{Seat: seat, Cards: slices.Clone(sorted), Combo: p.Combo}
	g.Passes = 0
	g.FirstTrick = false
	if len(left) == 0 {
		g.Winner = seat
		return p, nil
	}
	g.Turn = next(seat)
	return p, nil
}

// Pass passes for seat. When several errors apply the first of these is
// returned: ErrGameOver, ErrNotYourTurn, ErrCannotPassOnLead. On error the
// Game is unchanged.
//
// The third pass in a row after a play ends the trick: its maker leads
// the next one, with Current nil and Passes 0.
func (g *Game) Pass(seat int) error {
	if g.Over() {
		return ErrGameOver
	}
	if seat != g.Turn {
		return ErrNotYourTurn
	}
	if g.Current == nil {
		return ErrCannotPassOnLead
	}
	g.Passes++
	if g.Passes == Seats-1 {
		s := g.Current.Seat
		g.Current, g.Passes = nil, 0
		g.Turn, g.Leader = s, s
		return nil
	}
	g.Turn = next(seat)
	return nil
}

// next returns the seat after seat in turn order 0, 1, 2, 3, 0.
func next(seat int) int { return (seat + 1) % Seats }
