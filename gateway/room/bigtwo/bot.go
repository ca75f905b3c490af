package bigtwo

// BotMove returns the move the contract's bot makes for seat, as cards to
// pass to Play, or nil for a pass. When leading it is the seat's lowest
// single (on the first trick of a table's first hand that is 3D, the
// lowest card); when following, the lowest play of the current trick's
// size that beats it, lowest by Beats and, among plays neither beats, the
// first found; and a pass when nothing beats. It returns nil when the hand
// is over or it is not seat's turn. BotMove does not change the Game.
func (g *Game) BotMove(seat int) []Card {
	if g.Over() || seat != g.Turn || seat < 0 || seat >= Seats {
		return nil
	}
	hand := g.Hands[seat]
	if g.Current == nil {
		if len(hand) == 0 {
			return nil
		}
		// Hands are sorted, so the lowest single is the first card, and
		// on the first trick the leader holds 3D, the lowest card of all.
		return []Card{hand[0]}
	}
	cur, _ := Classify(g.Current.Cards)
	n := cur.Combo.Size()
	if n == 0 || len(hand) < n {
		return nil
	}

	// Try every n cards of the hand, keeping the lowest play that beats
	// cur. idx holds increasing indexes into hand, so each try is sorted.
	var (
		idx       [5]int
		try, best [5]Card
		bestPlay  Play
		found     bool
	)
	for i := range n {
		idx[i] = i
	}
	for {
		for i := range n {
			try[i] = hand[idx[i]]
		}
		if p, ok := Classify(try[:n]); ok && p.Beats(cur) && (!found || bestPlay.Beats(p)) {
			best, bestPlay, found = try, p, true
		}
		// Move on to the next n indexes in lexicographic order.
		i := n - 1
		for i >= 0 && idx[i] == len(hand)-n+i {
			i--
		}
		if i < 0 {
			break
		}
		idx[i]++
		for j := i + 1; j < n; j++ {
			idx[j] = idx[j-1] + 1
		}
	}
	if !found {
		return nil
	}
	return append([]Card{}, best[:n]...)
}
