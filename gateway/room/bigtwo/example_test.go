package bigtwo_test

import (
	"crypto/rand"
	"fmt"

	"github.com/bigtwo/gateway/gateway/room/bigtwo"
)

// A table's first hand: the holder of 3D leads, moves are checked in the
// contract's order, and a refused move maps to its wire code.
func Example() {
	var hands [bigtwo.Seats][]bigtwo.Card
	for s, codes := range [bigtwo.Seats][]string{
		{"4D", "9S", "2S"}, {"3D", "3S", "7H"}, {"5C", "8D", "AH"}, {"6H", "TC", "KS"},
	} {
		hands[s], _ = bigtwo.ParseCards(codes)
	}
	g := bigtwo.NewGame(hands, true, 0)
	fmt.Println("lead:", g.Turn)

	cards, _ := bigtwo.ParseCards([]string{"7H"})
	_, err := g.Play(1, cards)
	fmt.Println(bigtwo.Code(err))

	p, err := g.Play(1, g.BotMove(1))
	fmt.Println(p.Combo, p.Cards, err, "next:", g.Turn)

	fmt.Println(bigtwo.Code(g.Pass(2)), "next:", g.Turn)
	// Output:
	// lead: 1
	// must_play_3d
	// single [3D] <nil> next: 2
	//  next: 3
}

func ExampleDeal() {
	hands, err := bigtwo.Deal(rand.Reader) // a table deals with crypto/rand
	if err != nil {
		panic(err)
	}
	fmt.Println(len(hands[0]), len(hands[1]), len(hands[2]), len(hands[3]))
	// Output: 13 13 13 13
}

func ExampleClassify() {
	cards, _ := bigtwo.ParseCards([]string{"JS", "QH", "KD", "AC", "2D"})
	p, ok := bigtwo.Classify(cards)
	fmt.Println(p.Combo, ok)

	cards, _ = bigtwo.ParseCards([]string{"QS", "KH", "AD", "2C", "3D"})
	_, ok = bigtwo.Classify(cards)
	fmt.Println(ok)
	// Output:
	// straight true
	// false
}
