package bigtwo

// Penalty returns what a loser holding cardsLeft cards pays: one point a
// card, doubled for 10 to 12 cards, tripled for 13.
func Penalty(cardsLeft int) int {
	switch {
	case cardsLeft >= HandSize:
		return 3 * cardsLeft
	case cardsLeft >= 10:
		return 2 * cardsLeft
	default:
		return cardsLeft
	}
}

// Score scores a finished hand: hands are the cards each seat has left and
// winner is the seat that went out (it panics if winner is not a seat).
// Each loser's penalty is Penalty of its cards left; the winner's is 0.
// deltas are what each score changes by: the winner gains the sum of the
// penalties, each loser loses its own, so deltas sum to zero.
func Score(hands [Seats][]Card, winner int) (penalties [Seats]int, deltas [Seats]int) {
	for s, h := range hands {
		if s == winner {
			continue
		}
		penalties[s] = Penalty(len(h))
		deltas[s] = -penalties[s]
		deltas[winner] += penalties[s]
	}
	return penalties, deltas
}
