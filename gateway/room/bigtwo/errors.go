package bigtwo

import "errors"

// The rule errors. Each is a contract error code; Code maps them.
var (
	// ErrGameOver is returned by a play or pass after the hand has ended.
	ErrGameOver = errors.New("bigtwo: game over")
	// ErrNotYourTurn is returned when a seat other than Game.Turn moves.
	ErrNotYourTurn = errors.New("bigtwo: not your turn")
	// ErrInvalidCard is returned (often wrapped) for a card code or value
	// that is not one of the 52 cards, and for a card given twice.
	ErrInvalidCard = errors.New("bigtwo: invalid cards")
	// ErrCardsNotInHand is returned for a play of cards the seat does not hold.
	ErrCardsNotInHand = errors.New("bigtwo: cards not in hand")
	// ErrInvalidCombination is returned for cards that form no combination.
	ErrInvalidCombination = errors.New("bigtwo: invalid combination")
	// ErrDoesNotBeat is returned for a play that does not beat the current
	// one, including a play of a different number of cards.
	ErrDoesNotBeat = errors.New("bigtwo: does not beat")
	// ErrMustPlay3D is returned for a first play of a table's first hand
	// that does not contain 3D.
	ErrMustPlay3D = errors.New("bigtwo: must play 3D")
	// ErrCannotPassOnLead is returned for a pass by the seat that is to lead
	// a new trick.
	ErrCannotPassOnLead = errors.New("bigtwo: cannot pass on lead")
)

// Code returns the contract's error code for err, which may wrap one of the
// rule errors, or "" if err is none of them. It is the one mapping from
// rule errors to wire codes.
func Code(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrGameOver):
		return "no_game"
	case errors.Is(err, ErrNotYourTurn):
		return "not_your_turn"
	case errors.Is(err, ErrInvalidCard):
		return "invalid_cards"
	case errors.Is(err, ErrCardsNotInHand):
		return "cards_not_in_hand"
	case errors.Is(err, ErrInvalidCombination):
		return "invalid_combination"
	case errors.Is(err, ErrDoesNotBeat):
		return "does_not_beat"
	case errors.Is(err, ErrMustPlay3D):
		return "must_play_3d"
	case errors.Is(err, ErrCannotPassOnLead):
		return "cannot_pass_on_lead"
	default:
		return ""
	}
}
