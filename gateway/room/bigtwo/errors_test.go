package bigtwo

import (
	"errors"
	"fmt"
	"testing"
)

func TestCode(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("other"), ""},
		{ErrGameOver, "no_game"},
		{ErrNotYourTurn, "not_your_turn"},
		{ErrInvalidCard, "invalid_cards"},
		{fmt.Errorf("card %q: %w", "1D", ErrInvalidCard), "invalid_cards"},
		{ErrCardsNotInHand, "cards_not_in_hand"},
		{ErrInvalidCombination, "invalid_combination"},
		{ErrDoesNotBeat, "does_not_beat"},
		{ErrMustPlay3D, "must_play_3d"},
		{ErrCannotPassOnLead, "cannot_pass_on_lead"},
	}
	for _, tt := range tests {
		if got := Code(tt.err); got != tt.want {
			t.Errorf("Code(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
