package bigtwo

import (
	"slices"
	"strings"
)

// This file is a second, deliberately naive implementation of the
// combination rules, written from the contract's text rather than from
// combo.go: it reads ranks and suits out of the card codes, counts them in
// maps, and finds straights as substrings of the rank order. Tests check
// Classify and Beats against it.

// refRanks is the rank order, low to high, as the contract writes it.
const refRanks = "3456789TJQKA2"

// refFive lists the five-card classes from lowest to highest.
var refFive = []Combo{Straight, Flush, FullHouse, FourOfAKind, StraightFlush}

// refPlay is the reference's view of a set of cards: its class and a
// tuple compared element by element.
type refPlay struct {
	combo Combo
	size  int
	order []int
}

// refClassify classifies cs, distinct cards in any order.
func refClassify(cs []Card) refPlay {
	type card struct{ rank, suit int }
	var all []card
	for _, c := range cs {
		code := c.String()
		if len(code) != 2 {
			return refPlay{size: len(cs)}
		}
		all = append(all, card{strings.IndexByte(refRanks, code[0]), strings.IndexByte("DCHS", code[1])})
	}
	rankCount := map[int]int{}
	suits := map[int]bool{}
	highest := card{-1, -1}
	for _, c := range all {
		rankCount[c.rank]++
		suits[c.suit] = true
		if c.rank > highest.rank || c.rank == highest.rank && c.suit > highest.suit {
			highest = c
		}
	}
	high := []int{highest.rank, highest.suit}
	p := refPlay{size: len(cs)}
	switch {
	case len(all) == 1:
		p.combo, p.order = Single, high
	case len(all) == 2 && len(rankCount) == 1:
		p.combo, p.order = Pair, high
	case len(all) == 3 && len(rankCount) == 1:
		p.combo, p.order = Triple, high
	case len(all) == 5:
		var ranks []int
		var counts []int
		byCount := map[int]int{}
		for r, n := range rankCount {
			ranks = append(ranks, r)
			counts = append(counts, n)
			byCount[n] = r
		}
		slices.Sort(ranks)
		slices.Sort(counts)
		var run strings.Builder
		for _, r := range ranks {
			run.WriteByte(refRanks[r])
		}
		straight := len(ranks) == 5 && strings.Contains(refRanks, run.String())
		flush := len(suits) == 1
		switch {
		case straight && flush:
			p.combo, p.order = StraightFlush, high
		case slices.Equal(counts, []int{1, 4}):
			p.combo, p.order = FourOfAKind, []int{byCount[4]}
		case slices.Equal(counts, []int{2, 3}):
			p.combo, p.order = FullHouse, []int{byCount[3]}
		case flush:
			p.combo, p.order = Flush, high
		case straight:
			p.combo, p.order = Straight, high
		}
	}
	return p
}

// refBeats reports whether p beats q by the contract: same number of
// cards, both combinations, then a higher five-card class, then the
// higher tuple.
func refBeats(p, q refPlay) bool {
	if p.combo == Invalid || q.combo == Invalid || p.size != q.size {
		return false
	}
	if p.combo != q.combo {
		return slices.Index(refFive, p.combo) > slices.Index(refFive, q.combo)
	}
	return slices.Compare(p.order, q.order) > 0
}
