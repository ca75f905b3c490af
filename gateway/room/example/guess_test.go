package example_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/room"
	"github.com/bigtwo/gateway/gateway/room/example"
	"github.com/bigtwo/gateway/gateway/room/roomtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newGame serves the game with the number 42 in every round.
func newGame(t *testing.T, opts example.Options) *roomtest.Env {
	opts.Secret = func() int { return 42 }
	return roomtest.New(t, room.Options{}, gateway.Options{}, example.Kind(opts))
}

// player is p as the game's frames show it.
func player(p *roomtest.Player, away bool) string {
	return fmt.Sprintf(`{"player_id":%q,"username":%q,"away":%v}`, p.ID, p.Name, away)
}

func TestGame(t *testing.T) {
	e := newGame(t, example.Options{Pause: time.Millisecond})
	ap, bp := e.Player("alice"), e.Player("bob")
	a, b := ap.Tab(), bp.Tab()

	a.Send(`{"type":"guess.join","id":1,"data":{"room":"g"}}`)
	a.Expect("guess.joined", "1", `{"room":"g","round":1,"playing":true,"tries":0,"players":[`+player(ap, false)+`]}`)
	b.Send(`{"type":"guess.join","id":2,"data":{"room":"g"}}`)
	b.Expect("guess.joined", "2", `{"room":"g","round":1,"playing":true,"tries":0,"players":[`+player(ap, false)+`,`+player(bp, false)+`]}`)
	a.Expect("guess.player_joined", "", `{"room":"g","player":`+player(bp, false)+`}`)

	// A second tab of alice's is in the room at once, with her view.
	a2 := ap.Tab()
	a2.Expect("guess.state", "", `{"room":"g","round":1,"playing":true,"tries":0,"players":[`+player(ap, false)+`,`+player(bp, false)+`]}`)

	// Hints are private: both of alice's tabs get them, bob nothing.
	a.Send(`{"type":"guess.guess","id":3,"data":{"room":"g","number":50}}`)
	a.Expect("guess.hint", "3", `{"room":"g","number":50,"hint":"lower","tries":1}`)
	a2.Expect("guess.hint", "", `{"room":"g","number":50,"hint":"lower","tries":1}`)
	b.ExpectNothing()

	b.Send(`{"type":"guess.guess","id":4,"data":{"room":"g","number":42}}`)
	b.Expect("guess.hint", "4", `{"room":"g","number":42,"hint":"correct","tries":1}`)
	w := `{"room":"g","round":1,"number":42,"winner":` + player(bp, false) + `,"tries":1}`
	b.Expect("guess.won", "4", w) // the guesser's copy of the broadcast is a reply too
	a.Expect("guess.won", "", w)
	a2.Expect("guess.won", "", w)
	for _, c := range []*roomtest.Client{a, a2, b} {
		c.Expect("guess.round", "", `{"room":"g","round":2}`)
	}

	// Tries start again with the round.
	a.Send(`{"type":"guess.guess","id":5,"data":{"room":"g","number":10}}`)
	a.Expect("guess.hint", "5", `{"room":"g","number":10,"hint":"higher","tries":1}`)
	a2.Read()

	a.Send(`{"type":"guess.leave","id":6,"data":{"room":"g"}}`)
	a.Expect("guess.left", "6", `{"room":"g"}`)
	b.Expect("guess.player_left", "", `{"room":"g","player":`+player(ap, false)+`,"reason":"left"}`)
	a2.Send(`{"type":"guess.guess","id":7,"data":{"room":"g","number":10}}`)
	a2.ExpectError("not_joined", "7") // the leave took every tab out
}

func TestErrors(t *testing.T) {
	e := newGame(t, example.Options{Round: time.Millisecond, Pause: time.Hour})
	a := e.Player("alice").Tab()
	tests := []struct{ name, frame, code string }{
		{"no room", `{"type":"guess.join","id":1,"data":{}}`, "bad_room"},
		{"bad room", `{"type":"guess.join","id":1,"data":{"room":"a b"}}`, "bad_room"},
		{"not joined", `{"type":"guess.guess","id":1,"data":{"room":"g","number":5}}`, "not_joined"},
		{"unknown type", `{"type":"guess.cheat","id":1,"data":{"room":"g"}}`, "unknown_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.Send(tt.frame)
			a.ExpectError(tt.code, "1")
		})
	}
	a.Send(`{"type":"guess.join","id":2,"data":{"room":"g"}}`)
	a.ReadType("guess.joined")
	// The round of a millisecond ends without a winner; the next is an hour away.
	a.Expect("guess.timeout", "", `{"room":"g","round":1,"number":42}`)
	for _, n := range []string{"0", "101", `"7"`} {
		a.Send(`{"type":"guess.guess","id":3,"data":{"room":"g","number":` + n + `}}`)
		a.ExpectError("bad_request", "3")
	}
	a.Send(`{"type":"guess.guess","id":4,"data":{"room":"g","number":42}}`)
	a.ExpectError("round_over", "4")
}

// A player who drops is away, keeps their tries, and gets their view back
// on a new socket, unasked; the others see them go and come back.
func TestDropAndReturn(t *testing.T) {
	e := newGame(t, example.Options{})
	ap, bp := e.Player("alice"), e.Player("bob")
	a, b := ap.Tab(), bp.Tab()
	for _, c := range []*roomtest.Client{a, b} {
		c.Send(`{"type":"guess.join","data":{"room":"g"}}`)
		c.ReadType("guess.joined")
	}
	a.ReadType("guess.player_joined")
	a.Send(`{"type":"guess.guess","data":{"room":"g","number":30}}`)
	a.Read()

	a.Drop()
	b.Expect("guess.player_away", "", `{"room":"g","player":`+player(ap, false)+`}`)
	a = ap.Tab() // a reconnect: the view right after the welcome
	a.Expect("guess.state", "", `{"room":"g","round":1,"playing":true,"tries":1,"players":[`+player(ap, false)+`,`+player(bp, false)+`]}`)
	b.Expect("guess.player_back", "", `{"room":"g","player":`+player(ap, false)+`}`)
}

// A dropped player leaves when the grace runs out, or at once when their
// session is revoked.
func TestLeaveReasons(t *testing.T) {
	for _, tt := range []struct {
		name   string
		grace  time.Duration
		revoke bool
		reason string
	}{
		{"grace runs out", time.Millisecond, false, "dropped"},
		{"revoked while away", time.Hour, true, "revoked"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newGame(t, example.Options{Grace: tt.grace})
			ap, bp := e.Player("alice"), e.Player("bob")
			a, b := ap.Tab(), bp.Tab()
			for _, c := range []*roomtest.Client{a, b} {
				c.Send(`{"type":"guess.join","data":{"room":"g"}}`)
				c.ReadType("guess.joined")
			}
			a.Drop()
			b.Expect("guess.player_away", "", `{"room":"g","player":`+player(ap, false)+`}`)
			if tt.revoke {
				ap.Revoke(ap.Session)
			}
			b.Expect("guess.player_left", "", `{"room":"g","player":`+player(ap, false)+`,"reason":"`+tt.reason+`"}`)
		})
	}
}
