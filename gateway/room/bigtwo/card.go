package bigtwo

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Card is one of the 52 cards, valued rank*4 + suit: 3D is 0 (the lowest),
// 2S is 51 (the highest). Comparing two Cards with < compares them by
// rank, then suit. A value over 51 is no card. In JSON (and any text
// encoding) a Card is its two-character code, such as "3D".
type Card uint8

const (
	// NumCards is the number of cards in the deck.
	NumCards = 52
	// HandSize is the number of cards dealt to each of the four seats.
	HandSize = 13
	// Seats is the number of seats at a table.
	Seats = 4
)

// threeDiamonds is 3D, the lowest card, which the first hand's first
// play must contain.
const threeDiamonds Card = 0

const (
	rankCodes = "3456789TJQKA2"
	suitCodes = "DCHS"
)

// ParseCard returns the card whose code is s: a rank (one of
// 3 4 5 6 7 8 9 T J Q K A 2) then a suit (D C H S), exactly two upper-case
// characters. Anything else is an error wrapping ErrInvalidCard.
func ParseCard(s string) (Card, error) {
	if len(s) == 2 {
		r, su := strings.IndexByte(rankCodes, s[0]), strings.IndexByte(suitCodes, s[1])
		if r >= 0 && su >= 0 {
			return Card(r*4 + su), nil
		}
	}
	return 0, fmt.Errorf("card %q: %w", s, ErrInvalidCard)
}

// Valid reports whether c is one of the 52 cards.
func (c Card) Valid() bool { return c < NumCards }

// Rank returns c's rank, 0 for 3 up to 12 for 2.
func (c Card) Rank() int { return int(c) / 4 }

// Suit returns c's suit, 0 for diamonds, 1 clubs, 2 hearts, 3 spades.
func (c Card) Suit() int { return int(c) % 4 }

// String returns c's code, such as "3D"; a value that is no card prints
// as "Card(60)".
func (c Card) String() string {
	if !c.Valid() {
		return "Card(" + strconv.Itoa(int(c)) + ")"
	}
	return string([]byte{rankCodes[c.Rank()], suitCodes[c.Suit()]})
}

// MarshalText returns c's code; a value that is no card is an error
// wrapping ErrInvalidCard.
func (c Card) MarshalText() ([]byte, error) {
	if !c.Valid() {
		return nil, fmt.Errorf("card value %d: %w", uint8(c), ErrInvalidCard)
	}
	return []byte{rankCodes[c.Rank()], suitCodes[c.Suit()]}, nil
}

// UnmarshalText sets c to the card whose code is text, as ParseCard does.
func (c *Card) UnmarshalText(text []byte) error {
	v, err := ParseCard(string(text))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// SortCards sorts cards ascending by value, in place.
func SortCards(cards []Card) { slices.Sort(cards) }

// ParseCards returns the cards whose codes are given, sorted ascending. An
// unknown code or a card given twice is an error wrapping ErrInvalidCard.
// No codes give an empty, non-nil slice.
func ParseCards(codes []string) ([]Card, error) {
	cards := make([]Card, 0, len(codes))
	var seen [NumCards]bool
	for _, s := range codes {
		c, err := ParseCard(s)
		if err != nil {
			return nil, err
		}
		if seen[c] {
			return nil, fmt.Errorf("card %q repeated: %w", s, ErrInvalidCard)
		}
		seen[c] = true
		cards = append(cards, c)
	}
	SortCards(cards)
	return cards, nil
}

// checkCards returns nil if cards are distinct cards of the deck, else an
// error wrapping ErrInvalidCard.
func checkCards(cards []Card) error {
	var seen [NumCards]bool
	for _, c := range cards {
		if !c.Valid() {
			return fmt.Errorf("card value %d: %w", uint8(c), ErrInvalidCard)
		}
		if seen[c] {
			return fmt.Errorf("card %s repeated: %w", c, ErrInvalidCard)
		}
		seen[c] = true
	}
	return nil
}

// Deck returns the 52 cards, sorted ascending.
func Deck() []Card {
	d := make([]Card, NumCards)
	for i := range d {
		d[i] = Card(i)
	}
	return d
}

// Deal shuffles a deck with randomness read from r and deals 13 cards to
// each seat; each hand is sorted. Every order of the deck is equally likely
// when r is uniformly random: callers pass crypto/rand.Reader, tests a
// seeded source. An error reading r is returned, wrapped.
func Deal(r io.Reader) ([Seats][]Card, error) {
	deck := Deck()
	// Fisher-Yates: each position takes a uniformly chosen card from
	// those not yet placed.
	for i := len(deck) - 1; i > 0; i-- {
		j, err := uniform(r, uint32(i+1))
		if err != nil {
			return [Seats][]Card{}, fmt.Errorf("deal: %w", err)
		}
		deck[i], deck[j] = deck[j], deck[i]
	}
	var hands [Seats][]Card
	for s := range hands {
		hands[s] = deck[s*HandSize : (s+1)*HandSize : (s+1)*HandSize]
		SortCards(hands[s])
	}
	return hands, nil
}

// uniform returns a uniformly random integer in [0, n) read from r, by
// rejecting the few 32-bit values that would make the modulo uneven.
func uniform(r io.Reader, n uint32) (uint32, error) {
	limit := (1 << 32) / uint64(n) * uint64(n) // a multiple of n
	var b [4]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, err
		}
		if v := binary.LittleEndian.Uint32(b[:]); uint64(v) < limit {
			return v % n, nil
		}
	}
}
