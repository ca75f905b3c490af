package bigtwo

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBotMove(t *testing.T) {
	tests := []struct {
		name    string
		hand    string
		current *Trick
		first   bool
		want    string // "" is a pass
	}{
		{"lead: lowest single", "5D 6C 6S 9S", nil, false, "5D"},
		{"lead: lowest single, not a pair", "4C 4S 8D", nil, false, "4C"},
		{"first trick: 3D", "3D 3C 3H 4D 5C 6H 7S", nil, true, "3D"},
		{"lowest single that beats", "5D 7D 7S 9C 2S", trick(t, 1, "7H"), false, "7S"},
		{"single: nothing beats, pass", "3D 4D 7D", trick(t, 1, "2S"), false, ""},
		{"pair: beats by high suit first", "5C 5S 6D 6C", trick(t, 1, "5D 5H"), false, "5C 5S"},
		{"pair: higher rank when the suit loses", "5D 5H 6D 6C", trick(t, 1, "5C 5S"), false, "6D 6C"},
		{"pair: no pair, pass", "3D 4D 5D 6D", trick(t, 1, "3C 3H"), false, ""},
		{"pair: singles do not count", "2S", trick(t, 1, "3C 3H"), false, ""},
		{"triple", "4D 4C 4H 9D 9C 9S", trick(t, 1, "3D 3C 3H"), false, "4D 4C 4H"},
		{"triple: lowest of two", "9D 9C 9S 4D 4C 4H", trick(t, 1, "3D 3C 3H"), false, "4D 4C 4H"},
		{"straight: lowest straight over a flush", "4D 5C 6H 7S 8D 9D JD KD", trick(t, 1, "3D 4C 5H 6S 7C"), false, "4D 5C 6H 7S 8D"},
		{"straight: same ranks, higher top suit", "3C 4C 5H 6S 7S", trick(t, 1, "3D 4D 5H 6S 7H"), false, "3C 4C 5H 6S 7S"},
		{"flush over J-Q-K-A-2", "3D 3C 3H 4S 4H 5D 7D 9D JD", trick(t, 1, "JS QH KD AC 2S"), false, "3D 5D 7D 9D JD"},
		{"full house before four of a kind", "5D 5C 5H 5S 6D 6C 8D", trick(t, 1, "3D 5D 7D 9D JD"), false, "5D 5C 5H 6D 6C"},
		{"four of a kind before straight flush", "3D 4D 5D 6D 7D 9D 9C 9H 9S", trick(t, 1, "3C 3H 3S 4C 4H"), false, "9D 9C 9H 9S 3D"},
		{"five: nothing beats, pass", "3D 4D 5D 6D 8C 9C", trick(t, 1, "3S 4S 5S 6S 7S"), false, ""},
		{"five: too few cards, pass", "3D 4D", trick(t, 1, "3S 4S 5S 6S 7S"), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &Game{Winner: -1, Current: tt.current, FirstTrick: tt.first}
			g.Hands[0] = cards(t, tt.hand)
			SortCards(g.Hands[0])
			before := snapshotJSON(t, g)
			got := g.BotMove(0)
			if tt.want == "" {
				if got != nil {
					t.Fatalf("BotMove(0) with %v on %v = %v, want a pass (nil)", tt.hand, tt.current, got)
				}
				return
			}
			want := cards(t, tt.want)
			SortCards(want)
			if !cmp.Equal(got, want) {
				t.Fatalf("BotMove(0) with %v on %v = %v, want %v", tt.hand, tt.current, got, want)
			}
			if diff := cmp.Diff(before, snapshotJSON(t, g)); diff != "" {
				t.Fatalf("BotMove changed the game (-before +after):\n%s", diff)
			}
			if _, err := g.Play(0, got); err != nil {
				t.Fatalf("Play(0, BotMove(0) = %v) = %v, want nil", got, err)
			}
		})
	}
}

func TestBotMoveFirstTrickOfNewGame(t *testing.T) {
	g := NewGame(testHands(t, [Seats]string{"4D 5D", "6D 7D", "3D 3C 3H 3S 8D", "9D TD"}), true, 0)
	if got, want := g.BotMove(2), cards(t, "3D"); !cmp.Equal(got, want) {
		t.Fatalf("BotMove(2) on the first trick = %v, want %v", got, want)
	}
}

func TestBotMoveNotToMove(t *testing.T) {
	g := NewGame(testHands(t, [Seats]string{"3D 5D", "6D 7D", "4D", "9D TD"}), true, 0)
	if got := g.BotMove(1); got != nil {
		t.Fatalf("BotMove(1) when seat 0 is to move = %v, want nil", got)
	}
	if got := g.BotMove(-1); got != nil {
		t.Fatalf("BotMove(-1) = %v, want nil", got)
	}
	g.Winner = 2
	if got := g.BotMove(0); got != nil {
		t.Fatalf("BotMove(0) after the hand ended = %v, want nil", got)
	}
}
