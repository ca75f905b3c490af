package room

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/bigtwo/gateway/gateway"
	"github.com/google/go-cmp/cmp"
)

// Every frame sent to the socket whose frame is being handled is a reply
// carrying the frame's id, however it was sent; frames to other sockets
// (the same player's other tab included), and frames sent outside
// Message, are not.
func TestFramesToTheRequesterAreReplies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRig(t, Options{})
		alice, bob := newPlayer("alice"), newPlayer("bob")
		a, a2, b := g.tab(alice), g.tab(alice), g.tab(bob)
		for _, f := range []*fakeSink{a, a2, b} {
			g.must(f, "t.join")
		}
		msg := func(typ string) gateway.Message { return gateway.Message{Type: typ, ID: []byte(`"stale"`)} }
		g.sc.do = func(r *Context, s Socket, _ gateway.Message) error {
			r.Reply(msg("x1"))
			r.Send(alice.id, msg("x2"))
			r.SendSocket(s, msg("x3"))
			r.Broadcast(msg("x4"))
			r.BroadcastExcept(bob.id, msg("x5"))
			r.Send(bob.id, msg("x6"))
			r.BroadcastExcept(alice.id, msg("x7"))
			r.After(time.Second, func(r *Context) {
				r.Send(alice.id, msg("x8"))
				r.Reply(msg("x9")) // outside Message: nothing
			})
			return nil
		}
		g.must(a, "t.do")
		time.Sleep(time.Minute)
		synctest.Wait()
		for _, tt := range []struct {
			name string
			f    *fakeSink
			want []string
		}{
			{"requester", a, []string{"x1 id=7", "x2 id=7", "x3 id=7", "x4 id=7", "x5 id=7", "x8"}},
			{"requester's other tab", a2, []string{"x2", "prepared", "prepared", "x8"}},
			{"other player", b, []string{"prepared", "x6", "prepared"}},
		} {
			if diff := cmp.Diff(tt.want, tt.f.frames()); diff != "" {
				t.Errorf("frames of the %s (-want +got):\n%s", tt.name, diff)
			}
		}
	})
}
