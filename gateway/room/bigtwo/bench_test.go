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

// BenchmarkBotMove is the bot's work following a five-card play with a
// full hand, its most expensive case: every five of 13 cards is tried.
func BenchmarkBotMove(b *testing.B) {
	g := NewGame(testHands(b, [Seats]string{
		"3D 4C 5H 6S 7C 8D 9C TH JS QD KC AH 2S", "3C", "3H", "4S",
	}), false, 0)
	g.Current = trick(b, 3, "3S 4D 5D 6D 7D")
	for b.Loop() {
		g.BotMove(0)
	}
}
