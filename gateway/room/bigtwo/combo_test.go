package bigtwo

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name  string
		cards string
		want  Combo
		key   uint8
	}{
		{"lowest single", "3D", Single, 0},
		{"highest single", "2S", Single, 51},
		{"pair keyed by high suit", "9D 9S", Pair, 6*4 + 3},
		{"pair of 2s", "2D 2C", Pair, 49},
		{"2-card non-pair refused", "3D 4D", Invalid, 0},
		{"triple", "2D 2H 2S", Triple, 51},
		{"triple of two ranks refused", "3D 3C 4D", Invalid, 0},
		{"four cards refused", "3D 3C 3H 3S", Invalid, 0},
		{"four mixed cards refused", "3D 4D 5D 6D", Invalid, 0},
		{"lowest straight 3-4-5-6-7", "3D 4D 5H 6S 7C", Straight, 4*4 + 1},
		{"highest straight J-Q-K-A-2", "JS QH KD AC 2D", Straight, 48},
		{"Q-K-A-2-3 refused", "3D QC KH AS 2D", Invalid, 0},
		{"K-A-2-3-4 refused", "3D 4C KH AS 2D", Invalid, 0},
		{"A-2-3-4-5 refused", "3D 4C 5H AS 2D", Invalid, 0},
		{"2-3-4-5-6 refused", "3D 4C 5H 6S 2D", Invalid, 0},
		{"gap refused", "3D 4C 5H 6S 8D", Invalid, 0},
		{"flush", "3D 5D 7D 9D JD", Flush, 8 * 4},
		{"flush keyed by highest card", "4S 6S 8S TS 2S", Flush, 51},
		{"lowest straight flush", "3D 4D 5D 6D 7D", StraightFlush, 16},
		{"highest straight flush", "JS QS KS AS 2S", StraightFlush, 51},
		{"Q-K-A-2-3 of one suit is a flush", "3S QS KS AS 2S", Flush, 51},
		{"full house three low", "3D 3C 3H 4D 4S", FullHouse, 0},
		{"full house three high", "3D 3C 4D 4H 4S", FullHouse, 1},
		{"full house of 2s over aces", "AD AS 2D 2C 2H", FullHouse, 12},
		{"four of a kind fifth high", "5D 5C 5H 5S 2S", FourOfAKind, 2},
		{"four of a kind fifth low", "3D 2D 2C 2H 2S", FourOfAKind, 12},
		{"two pair refused", "3D 3C 4D 4C 5D", Invalid, 0},
		{"three and two singles refused", "3D 3C 3H 4D 5D", Invalid, 0},
		{"nothing refused", "3D 5C 7H 9S JD", Invalid, 0},
		{"six cards refused", "3D 4D 5D 6D 7D 8D", Invalid, 0},
		{"no cards refused", "", Invalid, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := cards(t, tt.cards)
			got, ok := Classify(in)
			if got.Combo != tt.want || ok != (tt.want != Invalid) || got.Key != tt.key {
				t.Fatalf("Classify(%v) = %v key %d, %v, want %v key %d, %v", in, got.Combo, got.Key, ok, tt.want, tt.key, tt.want != Invalid)
			}
			if ok && &got.Cards[0] != &in[0] {
				t.Fatalf("Classify(%v).Cards is a copy, want the caller's slice", in)
			}
		})
	}
}

func TestClassifyRefusesBadInput(t *testing.T) {
	tests := []struct {
		name string
		in   []Card
	}{
		{"not sorted", cards(t, "3C 3D")},
		{"five not sorted", cards(t, "4D 3D 5D 6D 7D")},
		{"repeated", cards(t, "3D 3D")},
		{"no card", []Card{52}},
		{"no card in a pair", []Card{51, 255}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := Classify(tt.in); ok {
				t.Fatalf("Classify(%v) = %v, true, want false", tt.in, got.Combo)
			}
		})
	}
}

// TestClassifyCountsAllFiveCardHands classifies every five-card hand and
// compares the count of each class with what combinatorics says for Big
// Two, where nine straights (3-7 up to J-2) exist and none wraps.
func TestClassifyCountsAllFiveCardHands(t *testing.T) {
	if testing.Short() {
		t.Skip("classifies 2,598,960 hands")
	}
	var got [StraightFlush + 1]int
	var h [5]Card
	for a := Card(0); a < NumCards; a++ {
		for b := a + 1; b < NumCards; b++ {
			for c := b + 1; c < NumCards; c++ {
				for d := c + 1; d < NumCards; d++ {
					for e := d + 1; e < NumCards; e++ {
						h = [5]Card{a, b, c, d, e}
						p, _ := Classify(h[:])
						got[p.Combo]++
					}
				}
			}
		}
	}
	want := [StraightFlush + 1]int{
		StraightFlush: 9 * 4,
		FourOfAKind:   13 * 48,
		FullHouse:     13 * 4 * 12 * 6,
		Flush:         4*1287 - 9*4, // C(13,5) per suit, less the straight flushes
		Straight:      9*1024 - 9*4, // 4^5 suits per run, less the straight flushes
	}
	sum := 0
	for _, n := range want {
		sum += n
	}
	want[Invalid] = 2598960 - sum
	for k := range got {
		if got[k] != want[k] {
			t.Errorf("Classify over all five-card hands: %d of %v, want %d", got[k], Combo(k), want[k])
		}
	}
}

func TestBeats(t *testing.T) {
	tests := []struct {
		name string
		p, q string
		want bool
	}{
		{"higher single", "4D", "3S", true},
		{"single by suit", "2S", "2H", true},
		{"lower single", "3S", "4D", false},
		{"single does not beat itself", "7H", "7H", false},
		{"pair by high suit", "9C 9S", "9D 9H", true},
		{"pair with lower high suit", "9D 9H", "9C 9S", false},
		{"pair by rank first", "TD TC", "9H 9S", true},
		{"triple by rank", "4D 4C 4H", "3C 3H 3S", true},
		{"straight by highest card", "4D 5D 6H 7S 8C", "3D 4C 5H 6S 7S", true},
		{"straight by highest card's suit", "3D 4C 5H 6S 7S", "3S 4S 5S 6H 7H", true},
		{"J-Q-K-A-2 beats T-J-Q-K-A", "JS QH KD AC 2D", "TS JH QD KC AS", true},
		{"lowest flush beats highest straight", "3D 4D 5D 6D 8D", "JS QH KD AC 2S", true},
		{"highest straight loses to lowest flush", "JS QH KD AC 2S", "3D 4D 5D 6D 8D", false},
		{"flush by highest card", "3C 4C 5C 6C 9C", "3D 4D 5D 6D 8D", true},
		{"full house beats flush", "3D 3C 3H 4D 4S", "4S 6S 8S TS 2S", true},
		{"full house by its three", "4D 4C 4H 3D 3S", "3C 3H 3S 2D 2S", true},
		{"full house three not pair", "3C 3H 3S 2D 2S", "4D 4C 4H 3D 3S", false},
		{"four of a kind beats full house", "3D 3C 3H 3S 4D", "AD AS 2D 2C 2H", true},
		{"four of a kind by its four", "3D 4D 4C 4H 4S", "3C 3H 3S 3D 2S", true},
		{"straight flush beats four of a kind", "3D 4D 5D 6D 7D", "3S 2D 2C 2H 2S", true},
		{"four of a kind loses to straight flush", "3S 2D 2C 2H 2S", "3D 4D 5D 6D 7D", false},
		{"straight flush by highest card", "4D 5D 6D 7D 8D", "3S 4S 5S 6S 7S", true},
		{"pair never beats single", "2H 2S", "3D", false},
		{"single never beats pair", "2S", "3D 3C", false},
		{"triple never beats five", "2D 2H 2S", "3D 4C 5H 6S 7C", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := classified(t, tt.p)
			q := classified(t, tt.q)
			if got := p.Beats(q); got != tt.want {
				t.Fatalf("Play(%v).Beats(%v) = %v, want %v", p.Cards, q.Cards, got, tt.want)
			}
		})
	}
}

func TestInvalidBeatsNothing(t *testing.T) {
	single := classified(t, "3D")
	if (Play{}).Beats(single) || single.Beats(Play{}) || (Play{}).Beats(Play{}) {
		t.Fatalf("an Invalid play beats or is beaten, want neither")
	}
}

// classified returns the play that codes make, sorted, and fails the test
// if they make none.
func classified(t testing.TB, codes string) Play {
	t.Helper()
	cs := cards(t, codes)
	SortCards(cs)
	p, ok := Classify(cs)
	if !ok {
		t.Fatalf("Classify(%v) = false, want a combination", cs)
	}
	return p
}

func TestClassifyAndBeatsDoNotAllocate(t *testing.T) {
	a := cards(t, "3D 3C 3H 4D 4S")
	b := cards(t, "4S 6S 8S TS 2S")
	got := testing.AllocsPerRun(100, func() {
		p, _ := Classify(a)
		q, _ := Classify(b)
		p.Beats(q)
	})
	if got != 0 {
		t.Fatalf("Classify and Beats allocate %v times per run, want 0", got)
	}
}

func TestComboText(t *testing.T) {
	tests := []struct {
		combo Combo
		want  string
	}{
		{Single, "single"},
		{Pair, "pair"},
		{Triple, "triple"},
		{Straight, "straight"},
		{Flush, "flush"},
		{FullHouse, "full_house"},
		{FourOfAKind, "four_of_a_kind"},
		{StraightFlush, "straight_flush"},
	}
	for _, tt := range tests {
		if got := tt.combo.String(); got != tt.want {
			t.Errorf("Combo(%d).String() = %q, want %q", tt.combo, got, tt.want)
		}
		b, err := json.Marshal(tt.combo)
		if err != nil || string(b) != `"`+tt.want+`"` {
			t.Errorf("json.Marshal(%v) = %s, %v, want %q", tt.combo, b, err, tt.want)
		}
		var back Combo
		if err := json.Unmarshal(b, &back); err != nil || back != tt.combo {
			t.Errorf("json.Unmarshal(%s) = %v, %v, want %v", b, back, err, tt.combo)
		}
	}
	if got := Invalid.String(); got != "invalid" {
		t.Errorf("Invalid.String() = %q, want %q", got, "invalid")
	}
	if got := Combo(99).String(); got != "Combo(99)" {
		t.Errorf("Combo(99).String() = %q, want %q", got, "Combo(99)")
	}
	if _, err := json.Marshal(Invalid); !errors.Is(err, ErrInvalidCombination) {
		t.Errorf("json.Marshal(Invalid) = %v, want error %v", err, ErrInvalidCombination)
	}
	var k Combo
	if err := json.Unmarshal([]byte(`"invalid"`), &k); !errors.Is(err, ErrInvalidCombination) {
		t.Errorf(`json.Unmarshal("invalid") = %v, want error %v`, err, ErrInvalidCombination)
	}
}
