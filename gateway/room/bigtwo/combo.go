package bigtwo

import (
	"fmt"
	"strconv"
)

// Combo is the class of a play. Five-card classes are declared from lowest
// to highest: a higher class beats any lower one. In JSON (and any text
// encoding) a Combo is its wire name, such as "full_house".
type Combo uint8

// The combinations. Invalid is the zero value: cards that form none.
const (
	Invalid Combo = iota
	Single
	Pair
	Triple
	Straight
	Flush
	FullHouse
	FourOfAKind
	StraightFlush
)

// String returns k's wire name, such as "full_house"; Invalid is
// "invalid" and a value that is no Combo prints as "Combo(99)".
func (k Combo) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case Single:
		return "single"
	case Pair:
		return "pair"
	case Triple:
		return "triple"
	case Straight:
		return "straight"
	case Flush:
		return "flush"
	case FullHouse:
		return "full_house"
	case FourOfAKind:
		return "four_of_a_kind"
	case StraightFlush:
		return "straight_flush"
	default:
		return "Combo(" + strconv.Itoa(int(k)) + ")"
	}
}

// Size returns how many cards a play of class k has: 1, 2, 3 or 5, and 0
// for Invalid.
func (k Combo) Size() int {
	switch k {
	case Single:
		return 1
	case Pair:
		return 2
	case Triple:
		return 3
	case Straight, Flush, FullHouse, FourOfAKind, StraightFlush:
		return 5
	default:
		return 0
	}
}

// MarshalText returns k's wire name; Invalid and values that are no Combo
// are an error wrapping ErrInvalidCombination.
func (k Combo) MarshalText() ([]byte, error) {
	if k.Size() == 0 {
		return nil, fmt.Errorf("combo %d: %w", uint8(k), ErrInvalidCombination)
	}
	return []byte(k.String()), nil
}

// UnmarshalText sets k to the Combo whose wire name is text; anything else,
// "invalid" included, is an error wrapping ErrInvalidCombination.
func (k *Combo) UnmarshalText(text []byte) error {
	for c := Single; c <= StraightFlush; c++ {
		if string(text) == c.String() {
			*k = c
			return nil
		}
	}
	return fmt.Errorf("combo %q: %w", text, ErrInvalidCombination)
}

// Play is a classified set of cards: its class and the key that orders it
// among plays of the same class.
type Play struct {
	// Combo is the play's class, never Invalid for a Play from Classify
	// that reported true.
	Combo Combo
	// Cards are the play's cards, sorted ascending. From Classify they
	// are the caller's slice, not a copy.
	Cards []Card
	// Key orders plays of one class; higher beats lower. It is the highest
	// card's value for singles, pairs, triples, straights, flushes and
	// straight flushes, and the rank (0..12) of the three or the four for
	// full houses and four of a kind.
	Key uint8
}

// Classify returns the play that cards make, and whether they make one.
// cards must be distinct cards sorted ascending (as ParseCards returns
// them); cards that are not, or are no cards, make no play. The Play's
// Cards is cards itself. Classify does not allocate.
func Classify(cards []Card) (Play, bool) {
	for i, c := range cards {
		if !c.Valid() || i > 0 && cards[i-1] >= c {
			return Play{}, false
		}
	}
	n := len(cards)
	if n == 0 {
		return Play{}, false
	}
	high := uint8(cards[n-1])
	switch n {
	case 1:
		return Play{Combo: Single, Cards: cards, Key: high}, true
	case 2, 3:
		if cards[0].Rank() != cards[n-1].Rank() {
			return Play{}, false
		}
		return Play{Combo: Pair + Combo(n-2), Cards: cards, Key: high}, true
	case 5:
		return classifyFive(cards)
	default:
		return Play{}, false
	}
}

// classifyFive classifies five distinct cards sorted ascending, so their
// ranks are ascending too.
func classifyFive(cards []Card) (Play, bool) {
	r0, r1, r2, r3, r4 := cards[0].Rank(), cards[1].Rank(), cards[2].Rank(), cards[3].Rank(), cards[4].Rank()
	s := cards[0].Suit()
	flush := cards[1].Suit() == s && cards[2].Suit() == s && cards[3].Suit() == s && cards[4].Suit() == s
	// Ranks run 3 (0) to 2 (12) and nothing wraps, so a straight is five
	// ranks each one above the last.
	straight := r1 == r0+1 && r2 == r1+1 && r3 == r2+1 && r4 == r3+1
	high := uint8(cards[4])
	// Sorted, the middle card always belongs to the three of a full house
	// and to the four of a four of a kind.
	mid := uint8(r2)
	switch {
	case straight && flush:
		return Play{Combo: StraightFlush, Cards: cards, Key: high}, true
	case r0 == r3 || r1 == r4:
		return Play{Combo: FourOfAKind, Cards: cards, Key: mid}, true
	case r0 == r2 && r3 == r4 || r0 == r1 && r2 == r4:
		return Play{Combo: FullHouse, Cards: cards, Key: mid}, true
	case flush:
		return Play{Combo: Flush, Cards: cards, Key: high}, true
	case straight:
		return Play{Combo: Straight, Cards: cards, Key: high}, true
	default:
		return Play{}, false
	}
}

// Beats reports whether p beats q: both are combinations of the same
// number of cards, and p is of a higher class, or of the same class with a
// higher key. Plays of different sizes, and Invalid ones, beat nothing and
// are beaten by nothing. Within each size Beats is a strict order. It does
// not allocate.
func (p Play) Beats(q Play) bool {
	n := p.Combo.Size()
	if n == 0 || n != q.Combo.Size() {
		return false
	}
	if p.Combo != q.Combo {
		return p.Combo > q.Combo
	}
	return p.Key > q.Key
}
