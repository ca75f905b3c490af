package bigtwo

import (
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cards parses space-separated codes for tests, in the order given.
func cards(t testing.TB, codes string) []Card {
	t.Helper()
	var out []Card
	for i := 0; i+1 < len(codes); i += 3 {
		c, err := ParseCard(codes[i : i+2])
		if err != nil {
			t.Fatalf("test cards %q: %v", codes, err)
		}
		out = append(out, c)
	}
	return out
}

func TestParseCard(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Card
	}{
		{"lowest", "3D", 0},
		{"3 of clubs", "3C", 1},
		{"4 of diamonds", "4D", 4},
		{"ten of hearts", "TH", 7*4 + 2},
		{"ace of spades", "AS", 11*4 + 3},
		{"2 of diamonds", "2D", 48},
		{"highest", "2S", 51},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCard(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseCard(%q) = %d, %v, want %d, nil", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseCardRefuses(t *testing.T) {
	for _, in := range []string{"", "3", "3DD", "3d", "td", "1D", "10D", "3X", "XD", "D3", " 3D", "3D ", "\x003"} {
		t.Run(in, func(t *testing.T) {
			if got, err := ParseCard(in); !errors.Is(err, ErrInvalidCard) {
				t.Fatalf("ParseCard(%q) = %v, %v, want error %v", in, got, err, ErrInvalidCard)
			}
		})
	}
}

func TestCardStringRoundTrip(t *testing.T) {
	for _, c := range Deck() {
		s := c.String()
		got, err := ParseCard(s)
		if err != nil || got != c {
			t.Fatalf("ParseCard(%d.String() = %q) = %d, %v, want %d, nil", c, s, got, err, c)
		}
		if r, su := c.Rank(), c.Suit(); int(c) != r*4+su || r > 12 || su > 3 {
			t.Fatalf("Card(%d) rank, suit = %d, %d, want value rank*4+suit", c, r, su)
		}
	}
	if got, want := Card(60).String(), "Card(60)"; got != want {
		t.Fatalf("Card(60).String() = %q, want %q", got, want)
	}
}

func TestCardJSON(t *testing.T) {
	in := cards(t, "3D 9C 2S")
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("json.Marshal(%v): %v", in, err)
	}
	if got, want := string(b), `["3D","9C","2S"]`; got != want {
		t.Fatalf("json.Marshal(%v) = %s, want %s", in, got, want)
	}
	var back []Card
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("json.Unmarshal(%s): %v", b, err)
	}
	if diff := cmp.Diff(in, back); diff != "" {
		t.Fatalf("json round trip (-want +got):\n%s", diff)
	}
	if err := json.Unmarshal([]byte(`["3D","1D"]`), &back); !errors.Is(err, ErrInvalidCard) {
		t.Fatalf(`json.Unmarshal(["3D","1D"]) = %v, want error %v`, err, ErrInvalidCard)
	}
	if _, err := json.Marshal([]Card{52}); !errors.Is(err, ErrInvalidCard) {
		t.Fatalf("json.Marshal([]Card{52}) = %v, want error %v", err, ErrInvalidCard)
	}
}

func TestParseCards(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []Card
		wantErr error
	}{
		{"none", []string{}, []Card{}, nil},
		{"sorted on return", []string{"2S", "3D", "3S", "3C"}, cards(t, "3D 3C 3S 2S"), nil},
		{"unknown code", []string{"3D", "1D"}, nil, ErrInvalidCard},
		{"lower case", []string{"3d"}, nil, ErrInvalidCard},
		{"repeated code", []string{"3D", "4D", "3D"}, nil, ErrInvalidCard},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCards(tt.in)
			if !errors.Is(err, tt.wantErr) || !cmp.Equal(got, tt.want) {
				t.Fatalf("ParseCards(%q) = %v, %v, want %v, %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestSortCards(t *testing.T) {
	got := cards(t, "2S 3D AH 3S 3C")
	SortCards(got)
	if want := cards(t, "3D 3C 3S AH 2S"); !cmp.Equal(got, want) {
		t.Fatalf("SortCards = %v, want %v", got, want)
	}
}

func TestDeck(t *testing.T) {
	d := Deck()
	if len(d) != NumCards {
		t.Fatalf("len(Deck()) = %d, want %d", len(d), NumCards)
	}
	for i, c := range d {
		if int(c) != i {
			t.Fatalf("Deck()[%d] = %v, want Card(%d)", i, c, i)
		}
	}
}

func TestDeal(t *testing.T) {
	hands, err := Deal(rand.NewChaCha8([32]byte{1}))
	if err != nil {
		t.Fatalf("Deal: %v", err)
	}
	var all []Card
	for s, h := range hands {
		if len(h) != HandSize {
			t.Fatalf("Deal: seat %d has %d cards, want %d", s, len(h), HandSize)
		}
		for i := 1; i < len(h); i++ {
			if h[i-1] >= h[i] {
				t.Fatalf("Deal: seat %d hand %v is not sorted", s, h)
			}
		}
		all = append(all, h...)
	}
	SortCards(all)
	if diff := cmp.Diff(Deck(), all); diff != "" {
		t.Fatalf("Deal: hands are not the deck (-want +got):\n%s", diff)
	}

	again, _ := Deal(rand.NewChaCha8([32]byte{1}))
	if diff := cmp.Diff(hands, again); diff != "" {
		t.Fatalf("Deal with the same seed differs (-first +second):\n%s", diff)
	}
	other, _ := Deal(rand.NewChaCha8([32]byte{2}))
	if cmp.Equal(hands, other) {
		t.Fatalf("Deal with two seeds gave the same hands %v", hands)
	}
}

func TestDealReadError(t *testing.T) {
	r := io.LimitReader(rand.NewChaCha8([32]byte{}), 10)
	if _, err := Deal(r); !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		t.Fatalf("Deal(short reader) = %v, want a read error", err)
	}
}

// TestDealIsFair checks that each card lands in each seat about equally
// often, a coarse check that the shuffle is not biased.
func TestDealIsFair(t *testing.T) {
	const deals = 4000
	var count [NumCards][Seats]int
	r := rand.NewChaCha8([32]byte{3})
	for range deals {
		hands, err := Deal(r)
		if err != nil {
			t.Fatalf("Deal: %v", err)
		}
		for s, h := range hands {
			for _, c := range h {
				count[c][s]++
			}
		}
	}
	// Each count is binomial(4000, 1/4): mean 1000, sd about 27.
	for c, seats := range count {
		for s, n := range seats {
			if n < 850 || n > 1150 {
				t.Fatalf("Deal: %v went to seat %d %d times in %d deals, want about %d", Card(c), s, n, deals, deals/Seats)
			}
		}
	}
}

// TestUniformRejects checks that the values that would bias the modulo are
// read past: with n = 3, 0xFFFFFFFF (the last of 2^32 values) is refused.
func TestUniformRejects(t *testing.T) {
	r := &fixedReader{b: []byte{0xFF, 0xFF, 0xFF, 0xFF, 5, 0, 0, 0}}
	got, err := uniform(r, 3)
	if err != nil || got != 2 {
		t.Fatalf("uniform(0xFFFFFFFF then 5, 3) = %d, %v, want 2, nil", got, err)
	}
}

// fixedReader reads out b, then reports io.EOF.
type fixedReader struct{ b []byte }

func (r *fixedReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}
