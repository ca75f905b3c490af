// Package bigtwo owns the rules of Big Two as the contract states them:
// cards and their order, dealing, the combinations and which beats which,
// one hand's turns and tricks as a state machine (Game), the bot's move and
// the scoring of a finished hand.
//
// It is pure: no I/O, no clocks, no goroutines, no package state that
// changes. Randomness comes in as an io.Reader (Deal). It knows nothing of
// sockets, players, seats being taken, timers or frames; the networked
// table builds on it and maps its errors to the contract's codes with Code.
//
// Cards are values 0..51 ordered by rank, then suit: ranks 3 4 5 6 7 8 9 T
// J Q K A 2, suits D C H S, so 3D is 0 and 2S is 51. Card slices handed to
// and returned by this package are sorted ascending unless said otherwise.
package bigtwo
