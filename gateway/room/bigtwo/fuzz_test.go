package bigtwo

import (
	"slices"
	"testing"
)

// FuzzClassify checks Classify against the reference in ref_test.go, and
// that Beats agrees with the reference and is a strict order within each
// size (irreflexive, asymmetric, transitive) on three plays at a time.
//
// The input's first byte picks a size, 1 to 6; the bytes after it, each
// taken modulo 52, give three sets of up to that many distinct cards.
func FuzzClassify(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		n := 1 + int(data[0])%6
		rest := data[1:]
		var plays [3]Play
		var refs [3]refPlay
		for i := range plays {
			var cs []Card
			cs, rest = fuzzCards(rest, n)
			got, ok := Classify(cs)
			want := refClassify(cs)
			if ok != (want.combo != Invalid) || got.Combo != want.combo {
				t.Fatalf("Classify(%v) = %v, %v, want %v", cs, got.Combo, ok, want.combo)
			}
			if ok && !slices.Equal(got.Cards, cs) {
				t.Fatalf("Classify(%v).Cards = %v, want the cards given", cs, got.Cards)
			}
			if len(cs) >= 2 {
				rev := slices.Clone(cs)
				slices.Reverse(rev)
				if p, ok := Classify(rev); ok {
					t.Fatalf("Classify(%v) = %v, true, want false for unsorted cards", rev, p.Combo)
				}
			}
			plays[i], refs[i] = got, want
		}
		for i, p := range plays {
			if p.Beats(p) {
				t.Fatalf("Play(%v).Beats(itself) = true, want false", p.Cards)
			}
			for j, q := range plays {
				got := p.Beats(q)
				if want := refBeats(refs[i], refs[j]); got != want {
					t.Fatalf("Play(%v).Beats(%v) = %v, want %v", p.Cards, q.Cards, got, want)
				}
				if got && q.Beats(p) {
					t.Fatalf("Play(%v) and Play(%v) beat each other, want asymmetry", p.Cards, q.Cards)
				}
				for _, r := range plays {
					if got && q.Beats(r) && !p.Beats(r) {
						t.Fatalf("Play(%v) beats %v beats %v, but Beats(%v) = false, want transitivity", p.Cards, q.Cards, r.Cards, r.Cards)
					}
				}
			}
		}
	})
}

// fuzzCards takes bytes from data until it has n distinct cards (each
// byte modulo 52) or data runs out, and returns the cards sorted and what
// is left of data.
func fuzzCards(data []byte, n int) ([]Card, []byte) {
	var cs []Card
	for len(cs) < n && len(data) > 0 {
		c := Card(data[0] % NumCards)
		data = data[1:]
		if !slices.Contains(cs, c) {
			cs = append(cs, c)
		}
	}
	SortCards(cs)
	return cs, data
}
