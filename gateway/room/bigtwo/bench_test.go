package bigtwo

import "testing"

// BenchmarkClassifyCompare classifies two plays and compares them, the
// work of checking one follow against the current play.
func BenchmarkClassifyCompare(b *testing.B) {
	benchmarks := []struct {
		name string
		p, q string
	}{
		{"single", "2S", "2H"},
		{"pair", "9C 9S", "9D 9H"},
		{"five", "3D 3C 3H 4D 4S", "4S 6S 8S TS 2S"},
		{"five_straights", "4D 5D 6H 7S 8C", "3D 4C 5H 6S 7S"},
	}
	for _, bm := range benchmarks {
		p, q := cards(b, bm.p), cards(b, bm.q)
		SortCards(p)
		SortCards(q)
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				x, _ := Classify(p)
				y, _ := Classify(q)
				x.Beats(y)
			}
		})
	}
}
