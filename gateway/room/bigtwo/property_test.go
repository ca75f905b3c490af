package bigtwo

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// maxMoves bounds the moves of one hand: every play takes at least one
// card from 52, and at most three passes follow a play before its maker
// must lead again.
const maxMoves = 4 * NumCards

// The property tests play whole tables from fixed seeds, so a failure
// names a seed that replays it.
const (
	botTables     = 200
	randomTables  = 100
	handsPerTable = 3 // hands per table
)

// TestBotGames plays tables where every move is BotMove's, checking after
// every move that the bot keeps the contract and the Game its invariants.
func TestBotGames(t *testing.T) {
	for seed := range uint64(botTables) {
		playTable(t, seed, func(t *testing.T, g *Game, _ *rand.Rand) []Card {
			seat := g.Turn
			mv := g.BotMove(seat)
			checkBotMove(t, g, seat, mv)
			if mv == nil {
				if err := checkedPass(t, g, seat); err != nil {
					t.Fatalf("Pass(%d) after BotMove passed = %v", seat, err)
				}
				return nil
			}
			p, err := checkedPlay(t, g, seat, mv)
			if err != nil {
				t.Fatalf("Play(%d, BotMove = %v) = %v", seat, mv, err)
			}
			return p.Cards
		})
	}
}

// TestRandomGames plays tables of random legal moves, and before many of
// them tries a random move (often illegal) and checks Play or Pass answers
// it as the reference does, leaving the Game unchanged on error.
func TestRandomGames(t *testing.T) {
	for seed := range uint64(randomTables) {
		playTable(t, 1<<32+seed, func(t *testing.T, g *Game, rng *rand.Rand) []Card {
			var played []Card
			if rng.IntN(2) == 0 {
				played = tryRandomMove(t, g, rng)
				if g.Over() {
					return played
				}
			}
			seat := g.Turn
			moves := legalMoves(g, seat)
			canPass := g.Current != nil
			k := rng.IntN(len(moves) + boolInt(canPass))
			if k == len(moves) {
				if err := checkedPass(t, g, seat); err != nil {
					t.Fatalf("Pass(%d) when passing is legal = %v", seat, err)
				}
				return played
			}
			p, err := checkedPlay(t, g, seat, moves[k])
			if err != nil {
				t.Fatalf("Play(%d, %v) of a legal move = %v", seat, moves[k], err)
			}
			return append(played, p.Cards...)
		})
	}
}

// playTable deals and plays a table of handsPerTable hands from seed, calling
// move until each hand ends, and checks each move's invariants and each
// hand's end and scores. move returns the cards it played, if any.
func playTable(t *testing.T, seed uint64, move func(*testing.T, *Game, *rand.Rand) []Card) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x62696774776f))
	var key [32]byte
	for i := range key {
		key[i] = byte(rng.Uint32())
	}
	deck := rand.NewChaCha8(key)
	var scores [Seats]int
	winner := 0
	for hand := range handsPerTable {
		hands, err := Deal(deck)
		if err != nil {
			t.Fatalf("seed %d: Deal: %v", seed, err)
		}
		g := NewGame(hands, hand == 0, winner)
		if hand == 0 && !slices.Contains(g.Hands[g.Turn], threeDiamonds) {
			t.Fatalf("seed %d: first hand leader %d does not hold 3D", seed, g.Turn)
		}
		var played []Card
		moves := 0
		for !g.Over() {
			if moves++; moves > maxMoves {
				t.Fatalf("seed %d hand %d: no winner after %d moves", seed, hand, maxMoves)
			}
			played = append(played, move(t, g, rng)...)
			checkInvariants(t, g, played)
			if t.Failed() {
				t.Fatalf("seed %d hand %d move %d", seed, hand, moves)
			}
		}
		if len(g.Hands[g.Winner]) != 0 {
			t.Fatalf("seed %d hand %d: winner %d holds %v", seed, hand, g.Winner, g.Hands[g.Winner])
		}
		penalties, deltas := Score(g.Hands, g.Winner)
		sum, total := 0, 0
		for s := range Seats {
			sum += deltas[s]
			total += penalties[s]
			scores[s] += deltas[s]
			if s != g.Winner && (len(g.Hands[s]) == 0 || penalties[s] != Penalty(len(g.Hands[s]))) {
				t.Fatalf("seed %d hand %d: seat %d penalty %d with %d cards left", seed, hand, s, penalties[s], len(g.Hands[s]))
			}
		}
		if sum != 0 || deltas[g.Winner] != total {
			t.Fatalf("seed %d hand %d: Score deltas %v sum to %d, winner gains %d, want 0 and %d", seed, hand, deltas, sum, deltas[g.Winner], total)
		}
		winner = g.Winner
	}
	if scores[0]+scores[1]+scores[2]+scores[3] != 0 {
		t.Fatalf("seed %d: table scores %v do not sum to zero", seed, scores)
	}
}

// checkInvariants checks what holds after every move: the 52 cards are
// all in hands or played, once each; hands stay sorted; the trick's
// bookkeeping agrees with itself.
func checkInvariants(t *testing.T, g *Game, played []Card) {
	t.Helper()
	all := slices.Clone(played)
	for s, h := range g.Hands {
		if !slices.IsSorted(h) {
			t.Errorf("seat %d hand %v not sorted", s, h)
		}
		all = append(all, h...)
	}
	SortCards(all)
	if deck := Deck(); !slices.Equal(deck, all) {
		t.Errorf("cards not conserved, hands and played (-deck +got):\n%s", cmp.Diff(deck, all))
	}
	if g.Passes < 0 || g.Passes >= Seats-1 {
		t.Errorf("passes = %d, want 0..%d", g.Passes, Seats-2)
	}
	if g.Current == nil && (g.Leader != g.Turn || g.Passes != 0) {
		t.Errorf("no current play but leader %d, turn %d, passes %d, want leader = turn and 0 passes", g.Leader, g.Turn, g.Passes)
	}
	if g.Current != nil && g.FirstTrick {
		t.Errorf("first trick still true after a play")
	}
	if g.Current != nil && !g.Over() && g.Turn != (g.Current.Seat+1+g.Passes)%Seats {
		t.Errorf("turn %d, want the seat after %d and %d passes", g.Turn, g.Current.Seat, g.Passes)
	}
}

// checkBotMove checks BotMove's answer mv against every legal move: a
// lead is the lowest single (3D on the first trick); a follow is a legal
// play no legal play of its size is below, and a pass only when no play
// is legal.
func checkBotMove(t *testing.T, g *Game, seat int, mv []Card) {
	t.Helper()
	hand := g.Hands[seat]
	if g.Current == nil {
		want := []Card{hand[0]}
		if g.FirstTrick {
			want = []Card{threeDiamonds}
		}
		if !cmp.Equal(mv, want) {
			t.Fatalf("BotMove(%d) leading with %v = %v, want %v", seat, hand, mv, want)
		}
		return
	}
	moves := legalMoves(g, seat)
	if mv == nil {
		if len(moves) > 0 {
			t.Fatalf("BotMove(%d) on %v with %v passed, but %v beats it", seat, g.Current.Cards, hand, moves[0])
		}
		return
	}
	bot, ok := Classify(mv)
	if !ok || !slices.ContainsFunc(moves, func(m []Card) bool { return slices.Equal(m, mv) }) {
		t.Fatalf("BotMove(%d) on %v with %v = %v, not a legal play", seat, g.Current.Cards, hand, mv)
	}
	for _, m := range moves {
		if p, _ := Classify(m); bot.Beats(p) {
			t.Fatalf("BotMove(%d) on %v with %v = %v, but %v is lower and beats it too", seat, g.Current.Cards, hand, mv, m)
		}
	}
}

// legalMoves returns every play seat may make now: each set of the seat's
// cards that is a combination, beats the current play if there is one,
// and contains 3D on the first trick.
func legalMoves(g *Game, seat int) [][]Card {
	hand := g.Hands[seat]
	sizes := []int{1, 2, 3, 5}
	var cur Play
	if g.Current != nil {
		cur, _ = Classify(g.Current.Cards)
		sizes = []int{len(g.Current.Cards)}
	}
	var moves [][]Card
	for _, n := range sizes {
		subsets(hand, n, func(cs []Card) {
			p, ok := Classify(cs)
			if !ok || g.Current != nil && !p.Beats(cur) || g.FirstTrick && cs[0] != threeDiamonds {
				return
			}
			moves = append(moves, slices.Clone(cs))
		})
	}
	return moves
}

// subsets calls f with every n cards of hand, in hand's order, in a
// buffer f must not keep.
func subsets(hand []Card, n int, f func([]Card)) {
	buf := make([]Card, 0, n)
	var rec func(from int)
	rec = func(from int) {
		if len(buf) == n {
			f(buf)
			return
		}
		for i := from; i <= len(hand)-(n-len(buf)); i++ {
			buf = append(buf, hand[i])
			rec(i + 1)
			buf = buf[:len(buf)-1]
		}
	}
	rec(0)
}

// tryRandomMove makes a random move, from a random seat, of random cards
// (mostly the seat's own), or a pass, and checks the answer against
// refMoveError. A move that is accepted stays made, and its cards are
// returned.
func tryRandomMove(t *testing.T, g *Game, rng *rand.Rand) []Card {
	t.Helper()
	seat := g.Turn
	if rng.IntN(8) == 0 {
		seat = rng.IntN(Seats + 1) // sometimes another seat, or none
	}
	if rng.IntN(6) == 0 {
		want := refPassError(g, seat)
		if err := checkedPass(t, g, seat); !errors.Is(err, want) || (err == nil) != (want == nil) {
			t.Fatalf("Pass(%d) = %v, want %v", seat, err, want)
		}
		return nil
	}
	var cs []Card
	n := []int{0, 1, 1, 2, 2, 3, 4, 5, 5, 5, 6}[rng.IntN(11)]
	for range n {
		switch h := g.Hands[g.Turn]; {
		case rng.IntN(10) == 0:
			cs = append(cs, Card(rng.IntN(NumCards+2))) // any card, or none
		case len(h) > 0:
			cs = append(cs, h[rng.IntN(len(h))]) // repeats happen
		}
	}
	want := refMoveError(g, seat, cs)
	p, err := checkedPlay(t, g, seat, cs)
	if !errors.Is(err, want) || (err == nil) != (want == nil) {
		t.Fatalf("Play(%d, %v) = %v, want %v", seat, cs, err, want)
	}
	return p.Cards
}

// checkedPass passes for seat and checks the Game against the contract's
// trick rules worked out here: unchanged on error; else one more pass, or
// on the third the trick's last player leads. It also checks that a copy
// of the Game taken before stays as it was.
func checkedPass(t *testing.T, g *Game, seat int) error {
	t.Helper()
	snap, orig := *g, cloneGame(g)
	want := cloneGame(g)
	if want.Current != nil {
		want.Passes++
		want.Turn = (seat + 1) % Seats
		if want.Passes == 3 {
			want.Turn, want.Leader = want.Current.Seat, want.Current.Seat
			want.Current, want.Passes = nil, 0
		}
	}
	err := g.Pass(seat)
	checkMove(t, fmt.Sprintf("Pass(%d)", seat), err, g, &snap, orig, want)
	return err
}

// checkedPlay plays cs for seat and checks the Game against the
// contract's rules worked out here: unchanged on error; else the cards
// leave the hand and become the current play, the seat leads if the
// trick was waiting, and the turn moves on unless the hand is empty.
func checkedPlay(t *testing.T, g *Game, seat int, cs []Card) (Play, error) {
	t.Helper()
	snap, orig := *g, cloneGame(g)
	want := cloneGame(g)
	if seat >= 0 && seat < Seats {
		var left []Card
		for _, c := range want.Hands[seat] {
			if !slices.Contains(cs, c) {
				left = append(left, c)
			}
		}
		sorted := slices.Sorted(slices.Values(cs))
		if want.Current == nil {
			want.Leader = seat
		}
		want.Hands[seat] = left
		want.Current = &Trick{Seat: seat, Cards: sorted, Combo: refClassify(cs).combo}
		want.Passes, want.FirstTrick = 0, false
		want.Turn = (seat + 1) % Seats
		if len(left) == 0 {
			want.Turn, want.Winner = seat, seat
		}
	}
	p, err := g.Play(seat, cs)
	checkMove(t, fmt.Sprintf("Play(%d, %v)", seat, cs), err, g, &snap, orig, want)
	return p, err
}

// checkMove checks the Game after a move: as it was on error, else as
// want; and the copy snap taken before the move still equal to orig.
func checkMove(t *testing.T, move string, err error, g, snap, orig, want *Game) {
	t.Helper()
	if err != nil {
		want = orig
	}
	if !sameGame(g, want) {
		t.Fatalf("%s = %v, then the game differs (-want +got):\n%s", move, err, cmp.Diff(want, g))
	}
	if !sameGame(snap, orig) {
		t.Fatalf("%s changed a copy of the Game taken before it", move)
	}
}

// cloneGame returns a deep copy of g.
func cloneGame(g *Game) *Game {
	c := *g
	for s := range c.Hands {
		c.Hands[s] = slices.Clone(g.Hands[s])
	}
	if g.Current != nil {
		cur := *g.Current
		cur.Cards = slices.Clone(cur.Cards)
		c.Current = &cur
	}
	return &c
}

// refMoveError is the error a play must get, worked out with the
// reference rules in ref_test.go and the contract's order.
func refMoveError(g *Game, seat int, cs []Card) error {
	switch {
	case g.Winner >= 0:
		return ErrGameOver
	case seat != g.Turn:
		return ErrNotYourTurn
	}
	seen := map[Card]bool{}
	for _, c := range cs {
		if c >= NumCards || seen[c] {
			return ErrInvalidCard
		}
		seen[c] = true
	}
	for _, c := range cs {
		if !slices.Contains(g.Hands[seat], c) {
			return ErrCardsNotInHand
		}
	}
	p := refClassify(cs)
	switch {
	case p.combo == Invalid:
		return ErrInvalidCombination
	case g.Current != nil && !refBeats(p, refClassify(g.Current.Cards)):
		return ErrDoesNotBeat
	case g.FirstTrick && !seen[threeDiamonds]:
		return ErrMustPlay3D
	}
	return nil
}

// refPassError is the error a pass must get.
func refPassError(g *Game, seat int) error {
	switch {
	case g.Winner >= 0:
		return ErrGameOver
	case seat != g.Turn:
		return ErrNotYourTurn
	case g.Current == nil:
		return ErrCannotPassOnLead
	}
	return nil
}

// sameGame reports whether a and b are the same state.
func sameGame(a, b *Game) bool {
	for s := range a.Hands {
		if !slices.Equal(a.Hands[s], b.Hands[s]) {
			return false
		}
	}
	if (a.Current == nil) != (b.Current == nil) ||
		a.Current != nil && (a.Current.Seat != b.Current.Seat || a.Current.Combo != b.Current.Combo || !slices.Equal(a.Current.Cards, b.Current.Cards)) {
		return false
	}
	return a.Turn == b.Turn && a.Leader == b.Leader && a.Passes == b.Passes && a.FirstTrick == b.FirstTrick && a.Winner == b.Winner
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
