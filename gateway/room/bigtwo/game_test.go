package bigtwo

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testHands spells four hands as codes, one string per seat.
func testHands(t testing.TB, seats [Seats]string) [Seats][]Card {
	t.Helper()
	var hands [Seats][]Card
	for s, codes := range seats {
		hands[s] = cards(t, codes)
	}
	return hands
}

// trick is a Trick spelled with codes.
func trick(t testing.TB, seat int, codes string) *Trick {
	t.Helper()
	p := classified(t, codes)
	return &Trick{Seat: seat, Cards: p.Cards, Combo: p.Combo}
}

func TestNewGame(t *testing.T) {
	seats := [Seats]string{"4D 5D", "6D 7D", "8D 3D", "9D TD"}
	tests := []struct {
		name   string
		hands  [Seats]string
		first  bool
		leader int
		want   int
		wantFT bool
	}{
		{"first hand: 3D holder leads", seats, true, 0, 2, true},
		{"later hand: leader leads", seats, false, 3, 3, false},
		{"first hand without 3D: leader leads freely", [Seats]string{"4D", "5D", "6D", "7D"}, true, 1, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGame(testHands(t, tt.hands), tt.first, tt.leader)
			if g.Turn != tt.want || g.Leader != tt.want || g.FirstTrick != tt.wantFT || g.Winner != -1 || g.Current != nil || g.Passes != 0 {
				t.Fatalf("NewGame(%v, %v, %d) = turn %d leader %d first trick %v winner %d current %v passes %d, want turn and leader %d, first trick %v, winner -1, no current, 0 passes",
					tt.hands, tt.first, tt.leader, g.Turn, g.Leader, g.FirstTrick, g.Winner, g.Current, g.Passes, tt.want, tt.wantFT)
			}
		})
	}
}

func TestNewGameCopiesAndSorts(t *testing.T) {
	hands := testHands(t, [Seats]string{"5D 4D", "6D", "7D", "8D"})
	g := NewGame(hands, false, 0)
	hands[0][0] = 51
	if want := cards(t, "4D 5D"); !cmp.Equal(g.Hands[0], want) {
		t.Fatalf("NewGame hand 0 = %v, want %v, sorted and not the caller's slice", g.Hands[0], want)
	}
}

func TestNewGamePanicsOnBadLeader(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatalf("NewGame(..., false, 4) did not panic")
		}
	}()
	NewGame([Seats][]Card{}, false, 4)
}

// TestPlayErrors covers every error of Play and the order in which they
// apply when several do.
func TestPlayErrors(t *testing.T) {
	hands := [Seats]string{"3D 4D 4C 5H 6S 7C 8H 9D", "8D 8C", "JD", "QD"}
	tests := []struct {
		name  string
		game  Game
		seat  int
		cards []Card
		want  error
	}{
		{"game over", Game{Winner: 2}, 0, cards(t, "3D"), ErrGameOver},
		{"game over before not your turn", Game{Winner: 2, Turn: 0}, 1, []Card{52}, ErrGameOver},
		{"not your turn", Game{Turn: 1, Winner: -1}, 0, cards(t, "3D"), ErrNotYourTurn},
		{"no seat", Game{Turn: 0, Winner: -1}, 4, cards(t, "3D"), ErrNotYourTurn},
		{"not your turn before invalid cards", Game{Turn: 1, Winner: -1}, 0, []Card{52}, ErrNotYourTurn},
		{"no card", Game{Winner: -1}, 0, []Card{52}, ErrInvalidCard},
		{"repeated card", Game{Winner: -1}, 0, cards(t, "3D 3D"), ErrInvalidCard},
		{"invalid cards before not in hand", Game{Winner: -1}, 0, []Card{Card(49), 200}, ErrInvalidCard},
		{"not in hand", Game{Winner: -1}, 0, cards(t, "8D"), ErrCardsNotInHand},
		{"not in hand before invalid combination", Game{Winner: -1}, 0, cards(t, "3D 8D"), ErrCardsNotInHand},
		{"invalid combination", Game{Winner: -1}, 0, cards(t, "3D 4D"), ErrInvalidCombination},
		{"four cards", Game{Winner: -1}, 0, cards(t, "3D 4D 4C 5H"), ErrInvalidCombination},
		{"no cards", Game{Winner: -1}, 0, nil, ErrInvalidCombination},
		{"invalid combination before must play 3D", Game{Winner: -1, FirstTrick: true}, 0, cards(t, "4D 9D"), ErrInvalidCombination},
		{"does not beat", Game{Winner: -1, Current: trick(t, 3, "4H")}, 0, cards(t, "4C"), ErrDoesNotBeat},
		{"different size does not beat", Game{Winner: -1, Current: trick(t, 3, "4H")}, 0, cards(t, "4D 4C"), ErrDoesNotBeat},
		{"five beats no single", Game{Winner: -1, Current: trick(t, 3, "3S")}, 0, cards(t, "3D 4C 5H 6S 7C"), ErrDoesNotBeat},
		// NewGame never makes this state (FirstTrick ends with the first
		// play); it pins the contract's order all the same.
		{"does not beat before must play 3D", Game{Winner: -1, FirstTrick: true, Current: trick(t, 3, "4H")}, 0, cards(t, "4C"), ErrDoesNotBeat},
		{"must play 3D", Game{Winner: -1, FirstTrick: true}, 0, cards(t, "4D 4C"), ErrMustPlay3D},
		{"must play 3D in a five", Game{Winner: -1, FirstTrick: true}, 0, cards(t, "4D 5H 6S 7C 8H"), ErrMustPlay3D},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tt.game
			g.Hands = testHands(t, hands)
			before := snapshotJSON(t, &g)
			p, err := g.Play(tt.seat, tt.cards)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Play(%d, %v) = %v, %v, want error %v", tt.seat, tt.cards, p.Combo, err, tt.want)
			}
			if diff := cmp.Diff(before, snapshotJSON(t, &g)); diff != "" {
				t.Fatalf("Play(%d, %v) failed but changed the game (-before +after):\n%s", tt.seat, tt.cards, diff)
			}
		})
	}
}

func TestPassErrors(t *testing.T) {
	tests := []struct {
		name string
		game Game
		seat int
		want error
	}{
		{"game over", Game{Winner: 0, Current: trick(t, 0, "3D")}, 1, ErrGameOver},
		{"not your turn", Game{Winner: -1, Turn: 2, Current: trick(t, 1, "3D")}, 1, ErrNotYourTurn},
		{"not your turn before cannot pass on lead", Game{Winner: -1, Turn: 2}, 1, ErrNotYourTurn},
		{"cannot pass on lead", Game{Winner: -1, Turn: 2, Leader: 2}, 2, ErrCannotPassOnLead},
		{"cannot pass on the first lead", Game{Winner: -1, FirstTrick: true}, 0, ErrCannotPassOnLead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tt.game
			before := snapshotJSON(t, &g)
			if err := g.Pass(tt.seat); !errors.Is(err, tt.want) {
				t.Fatalf("Pass(%d) = %v, want error %v", tt.seat, err, tt.want)
			}
			if diff := cmp.Diff(before, snapshotJSON(t, &g)); diff != "" {
				t.Fatalf("Pass(%d) failed but changed the game (-before +after):\n%s", tt.seat, diff)
			}
		})
	}
}

// snapshotJSON returns g as JSON text, to compare states.
func snapshotJSON(t testing.TB, g *Game) string {
	t.Helper()
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatalf("json.Marshal(game): %v", err)
	}
	return string(b)
}

// view is the part of a Game a trick test follows.
type view struct {
	Turn, Leader, Passes, Winner int
	Current                      *Trick
	FirstTrick                   bool
}

func viewOf(g *Game) view {
	return view{Turn: g.Turn, Leader: g.Leader, Passes: g.Passes, Winner: g.Winner, Current: g.Current, FirstTrick: g.FirstTrick}
}

// TestTricks plays a short hand move by move: the first lead with 3D,
// beating, passing and playing again in the same trick, three passes
// ending a trick, the new leader unable to pass, and the winning play.
func TestTricks(t *testing.T) {
	g := NewGame(testHands(t, [Seats]string{"3D 5D 9D", "4D 6D TD", "4C 7D JD", "4H 8D QD"}), true, 3)
	steps := []struct {
		seat    int
		play    string // "" is a pass
		wantErr error
		want    view
	}{
		{0, "3D", nil, view{Turn: 1, Leader: 0, Winner: -1, Current: trick(t, 0, "3D")}},
		{1, "4D", nil, view{Turn: 2, Leader: 0, Winner: -1, Current: trick(t, 1, "4D")}},
		{2, "", nil, view{Turn: 3, Leader: 0, Passes: 1, Winner: -1, Current: trick(t, 1, "4D")}},
		{3, "4H", nil, view{Turn: 0, Leader: 0, Winner: -1, Current: trick(t, 3, "4H")}},
		{0, "", nil, view{Turn: 1, Leader: 0, Passes: 1, Winner: -1, Current: trick(t, 3, "4H")}},
		{1, "", nil, view{Turn: 2, Leader: 0, Passes: 2, Winner: -1, Current: trick(t, 3, "4H")}},
		{2, "7D", nil, view{Turn: 3, Leader: 0, Winner: -1, Current: trick(t, 2, "7D")}}, // seat 2 passed, plays again
		{3, "", nil, view{Turn: 0, Leader: 0, Passes: 1, Winner: -1, Current: trick(t, 2, "7D")}},
		{0, "", nil, view{Turn: 1, Leader: 0, Passes: 2, Winner: -1, Current: trick(t, 2, "7D")}},
		{1, "", nil, view{Turn: 2, Leader: 2, Winner: -1}}, // third pass: seat 2 leads
		{2, "", ErrCannotPassOnLead, view{Turn: 2, Leader: 2, Winner: -1}},
		{2, "4C", nil, view{Turn: 3, Leader: 2, Winner: -1, Current: trick(t, 2, "4C")}},
		{3, "8D", nil, view{Turn: 0, Leader: 2, Winner: -1, Current: trick(t, 3, "8D")}},
		{0, "9D", nil, view{Turn: 1, Leader: 2, Winner: -1, Current: trick(t, 0, "9D")}},
		{1, "TD", nil, view{Turn: 2, Leader: 2, Winner: -1, Current: trick(t, 1, "TD")}},
		{2, "JD", nil, view{Turn: 2, Leader: 2, Winner: 2, Current: trick(t, 2, "JD")}}, // seat 2 is out
		{3, "QD", ErrGameOver, view{Turn: 2, Leader: 2, Winner: 2, Current: trick(t, 2, "JD")}},
		{3, "", ErrGameOver, view{Turn: 2, Leader: 2, Winner: 2, Current: trick(t, 2, "JD")}},
	}
	for i, st := range steps {
		var err error
		move := "Pass"
		if st.play == "" {
			err = g.Pass(st.seat)
		} else {
			move = "Play " + st.play
			_, err = g.Play(st.seat, cards(t, st.play))
		}
		if !errors.Is(err, st.wantErr) {
			t.Fatalf("step %d: %s by seat %d = %v, want %v", i, move, st.seat, err, st.wantErr)
		}
		if diff := cmp.Diff(st.want, viewOf(g)); diff != "" {
			t.Fatalf("step %d: after %s by seat %d (-want +got):\n%s", i, move, st.seat, diff)
		}
	}
	if !g.Over() {
		t.Fatalf("Over() = false after seat 2 went out, want true")
	}
	if got := g.Hands[2]; got == nil || len(got) != 0 {
		t.Fatalf("winner's hand = %#v, want empty and not nil", got)
	}
	penalties, deltas := Score(g.Hands, g.Winner)
	if want := [Seats]int{1, 1, 0, 1}; penalties != want {
		t.Fatalf("Score penalties = %v, want %v", penalties, want)
	}
	if want := [Seats]int{-1, -1, 3, -1}; deltas != want {
		t.Fatalf("Score deltas = %v, want %v", deltas, want)
	}
}

func TestPlayReturnsSortedCopy(t *testing.T) {
	g := NewGame(testHands(t, [Seats]string{"3D 3S 4D", "5D", "6D", "7D"}), true, 0)
	in := cards(t, "3S 3D")
	p, err := g.Play(0, in)
	if err != nil {
		t.Fatalf("Play(0, %v) = %v, want nil", in, err)
	}
	want := cards(t, "3D 3S")
	if p.Combo != Pair || !cmp.Equal(p.Cards, want) || !cmp.Equal(g.Current.Cards, want) {
		t.Fatalf("Play(0, %v) = %v %v, current %v, want pair %v", in, p.Combo, p.Cards, g.Current.Cards, want)
	}
	if cmp.Equal(in, want) {
		t.Fatalf("Play(0, %v) sorted the caller's slice", in)
	}
	p.Cards[0] = 51
	if !cmp.Equal(g.Current.Cards, want) {
		t.Fatalf("changing the returned play changed the current trick to %v", g.Current.Cards)
	}
}

func TestFirstLeadWith3D(t *testing.T) {
	for _, play := range []string{"3D", "3D 3S", "3D 4C 5H 6S 7C", "3D 3S 4D 4C 4H"} {
		t.Run(play, func(t *testing.T) {
			g := NewGame(testHands(t, [Seats]string{"3D 3S 4D 4C 4H 5H 6S 7C 9D", "8D", "JD", "QD"}), true, 2)
			p, err := g.Play(0, cards(t, play))
			if err != nil || g.FirstTrick {
				t.Fatalf("Play(0, %s) on the first lead = %v, %v, first trick %v, want nil error, first trick over", play, p.Combo, err, g.FirstTrick)
			}
		})
	}
}

func TestLaterHandLeadsAnything(t *testing.T) {
	g := NewGame(testHands(t, [Seats]string{"3D 4D", "5D 5C 6D", "6C", "7D"}), false, 1)
	if _, err := g.Play(1, cards(t, "5D 5C")); err != nil {
		t.Fatalf("Play(1, 5D 5C) leading a later hand = %v, want nil", err)
	}
}

// TestSnapshot checks that a copy of the Game value is a snapshot: moves
// made after the copy do not show in it.
func TestSnapshot(t *testing.T) {
	g := NewGame(testHands(t, [Seats]string{"3D 5D 9D", "4D 6D TD", "4C 7D JD", "4H 8D QD"}), true, 0)
	mustPlay(t, g, 0, "3D")
	snap := *g
	want := snapshotJSON(t, &snap)
	mustPlay(t, g, 1, "4D")
	if err := g.Pass(2); err != nil {
		t.Fatalf("Pass(2) = %v", err)
	}
	mustPlay(t, g, 3, "4H")
	if diff := cmp.Diff(want, snapshotJSON(t, &snap)); diff != "" {
		t.Fatalf("snapshot changed by later moves (-before +after):\n%s", diff)
	}
}

func mustPlay(t testing.TB, g *Game, seat int, codes string) {
	t.Helper()
	if _, err := g.Play(seat, cards(t, codes)); err != nil {
		t.Fatalf("Play(%d, %s) = %v, want nil", seat, codes, err)
	}
}

func TestGameJSON(t *testing.T) {
	g := NewGame(testHands(t, [Seats]string{"3D 5D", "4D 4C 6D", "4H", "7D"}), true, 0)
	if got := snapshotJSON(t, g); !strings.Contains(got, `"current":null`) || !strings.Contains(got, `"first_trick":true`) {
		t.Fatalf("json.Marshal(new game) = %s, want current null and first_trick true", got)
	}
	mustPlay(t, g, 0, "3D")
	b := snapshotJSON(t, g)
	for _, want := range []string{`"hands":[["5D"],["4D","4C","6D"],["4H"],["7D"]]`, `"current":{"seat":0,"cards":["3D"],"combo":"single"}`, `"winner":-1`} {
		if !strings.Contains(b, want) {
			t.Fatalf("json.Marshal(game) = %s, want it to contain %s", b, want)
		}
	}
	var back Game
	if err := json.Unmarshal([]byte(b), &back); err != nil {
		t.Fatalf("json.Unmarshal(%s): %v", b, err)
	}
	if diff := cmp.Diff(g, &back); diff != "" {
		t.Fatalf("json round trip (-want +got):\n%s", diff)
	}
}

func TestPenalty(t *testing.T) {
	tests := []struct{ in, want int }{
		{0, 0}, {1, 1}, {9, 9}, {10, 20}, {11, 22}, {12, 24}, {13, 39},
	}
	for _, tt := range tests {
		if got := Penalty(tt.in); got != tt.want {
			t.Errorf("Penalty(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestScore(t *testing.T) {
	tests := []struct {
		name      string
		left      [Seats]int
		winner    int
		penalties [Seats]int
		deltas    [Seats]int
	}{
		{"small", [Seats]int{0, 1, 2, 3}, 0, [Seats]int{0, 1, 2, 3}, [Seats]int{6, -1, -2, -3}},
		{"doubled and tripled", [Seats]int{10, 13, 0, 12}, 2, [Seats]int{20, 39, 0, 24}, [Seats]int{-20, -39, 83, -24}},
		{"winner's cards do not count", [Seats]int{5, 9, 9, 4}, 3, [Seats]int{5, 9, 9, 0}, [Seats]int{-5, -9, -9, 23}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hands [Seats][]Card
			next := Card(0)
			for s, n := range tt.left {
				for range n {
					hands[s] = append(hands[s], next)
					next++
				}
			}
			p, d := Score(hands, tt.winner)
			if p != tt.penalties || d != tt.deltas {
				t.Fatalf("Score(%v cards left, %d) = %v, %v, want %v, %v", tt.left, tt.winner, p, d, tt.penalties, tt.deltas)
			}
		})
	}
}
