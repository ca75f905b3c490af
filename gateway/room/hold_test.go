package room

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/bigtwo/gateway/gateway"
	"github.com/google/go-cmp/cmp"
)

// A held player whose last socket drops is away, and leaves (Dropped)
// exactly when the grace runs out.
func TestHoldGraceRunsOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRig(t, Options{})
		g.sc.grace = 30 * time.Second
		alice, bob := newPlayer("alice"), newPlayer("bob")
		a, b := g.tab(alice), g.tab(bob)
		g.must(a, "t.hold")
		g.must(b, "t.join")
		time.Sleep(10 * time.Second)
		g.rt.disconnect(a.id, Dropped)
		synctest.Wait()
		g.expect("0s t.hold alice", "0s t.join bob", "10s away alice")

		m, ok := g.member(b, alice)
		want := Member{Player: Player{alice.id, "alice"}, Sockets: 0, Held: true, AwaySince: g.sc.start.Add(10 * time.Second)}
		if diff := cmp.Diff(want, m); !ok || diff != "" {
			t.Errorf("MemberOf(alice) away (-want +got), ok %v:\n%s", ok, diff)
		}

		time.Sleep(30*time.Second - time.Nanosecond)
		synctest.Wait()
		g.expect()
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		g.expect("40s leave alice dropped")
		if _, ok := g.member(b, alice); ok {
			t.Error("alice is a member after her grace ran out")
		}
	})
}

// A socket of a held player that comes back within the grace is in the
// room when Return runs, which can send to it; the grace is canceled.
func TestHoldReturnWithinGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRig(t, Options{})
		g.sc.grace = 30 * time.Second
		alice := newPlayer("alice")
		a := g.tab(alice)
		g.must(a, "t.hold")
		g.rt.disconnect(a.id, Dropped)
		time.Sleep(29 * time.Second)
		a2 := g.tab(alice) // socket #2
		synctest.Wait()
		g.expect("0s t.hold alice", "0s away alice", "29s return alice #2 in=true")
		if diff := cmp.Diff([]string{"t.resync"}, a2.frames()); diff != "" {
			t.Errorf("frames of the returning socket (-want +got):\n%s", diff)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		g.expect() // no leave: the grace was canceled

		m, ok := g.member(a2, alice)
		if want := (Member{Player: Player{alice.id, "alice"}, Sockets: 1, Held: true}); !ok || m != want {
			t.Errorf("MemberOf(alice) = %+v, %v, want %+v", m, ok, want)
		}

		// Away again: a new grace, whole.
		g.rt.disconnect(a2.id, Dropped)
		time.Sleep(30 * time.Second)
		synctest.Wait()
		g.expect("1h0m29s away alice", "1h0m59s leave alice dropped")
	})
}

// A second tab of a held player is in the room at once (Return); the
// player is away only when the last tab has gone.
func TestHoldSecondTab(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRig(t, Options{})
		alice := newPlayer("alice")
		a := g.tab(alice)
		g.must(a, "t.hold")
		a2 := g.tab(alice) // #2
		synctest.Wait()
		g.expect("0s t.hold alice", "0s return alice #2 in=true")
		g.rt.disconnect(a.id, Dropped)
		synctest.Wait()
		g.expect()
		g.rt.disconnect(a2.id, Dropped)
		synctest.Wait()
		g.expect("0s away alice")
	})
}

// A player held with no grace stays away until the room releases them;
// a tab opened before the hold is in the room too.
func TestHoldWithoutGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRig(t, Options{})
		g.sc.grace = 0
		alice, bob := newPlayer("alice"), newPlayer("bob")
		a, a2, b := g.tab(alice), g.tab(alice), g.tab(bob)
		g.must(b, "t.join")
		g.must(a, "t.hold")
		g.expect("0s t.join bob", "0s t.hold alice")
		if m, _ := g.member(b, alice); m.Sockets != 2 {
			t.Errorf("alice's sockets in the room after Hold = %d, want 2", m.Sockets)
		}
		g.rt.disconnect(a.id, Dropped)
		g.rt.disconnect(a2.id, Dropped)
		time.Sleep(1000 * time.Hour)
		synctest.Wait()
		g.expect("0s away alice")

		var gone bool
		g.sc.do = func(r *Context, s Socket, _ gateway.Message) error {
			gone = r.Release(alice.id)
			return nil
		}
		g.must(b, "t.do")
		g.expect("1000h0m0s t.do bob") // the room asked: no Leave
		if !gone {
			t.Error("Release of an away player = false, want true")
		}
		if _, ok := g.member(b, alice); ok {
			t.Error("alice is a member after Release")
		}
	})
}

// A released player with a socket in the room is an ordinary member:
// their last socket's end is a Leave(Dropped).
func TestReleaseKeepsMember(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRig(t, Options{})
		alice := newPlayer("alice")
		a := g.tab(alice)
		g.must(a, "t.hold")
		g.must(a, "t.release")
		g.rt.disconnect(a.id, Dropped)
		synctest.Wait()
		g.expect("0s t.hold alice", "0s t.release alice", "0s leave alice dropped")
	})
}

// Holding an away player again does not swallow the return of a socket
// of theirs that opened meanwhile, and its grace is for their next absence.
func TestHoldAgainWhileAway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRig(t, Options{})
		g.sc.grace = 30 * time.Second
		alice, bob := newPlayer("alice"), newPlayer("bob")
		a, b := g.tab(alice), g.tab(bob)
		g.must(a, "t.hold")
		g.must(b, "t.join")
		g.rt.disconnect(a.id, Dropped)
		time.Sleep(10 * time.Second)
		var a2 *fakeSink
		g.sc.do = func(r *Context, s Socket, _ gateway.Message) error {
			a2 = g.tab(alice) // opens while this event runs: its return is queued
			return r.Hold(alice.id, time.Minute)
		}
		g.must(b, "t.do")
		synctest.Wait()
		g.expect("0s t.hold alice", "0s t.join bob", "0s away alice", "10s t.do bob", "10s return alice #3 in=true")
		if diff := cmp.Diff([]string{"t.resync"}, a2.frames()); diff != "" {
			t.Errorf("frames of the returning socket (-want +got):\n%s", diff)
		}
		g.rt.disconnect(a2.id, Dropped)
		time.Sleep(time.Hour)
		synctest.Wait()
		g.expect("10s away alice", "1m10s leave alice dropped")
	})
}

// A held player's socket that the room had let go and that joins while
// they are away brings them back; the grace no longer runs.
func TestJoinWhileAway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRig(t, Options{})
		g.sc.grace = 30 * time.Second
		alice, bob := newPlayer("alice"), newPlayer("bob")
		a, a2, b := g.tab(alice), g.tab(alice), g.tab(bob)
		g.must(b, "t.join")
		g.must(a, "t.hold")
		g.must(a2, "t.leave") // held: alice stays, with a alone
		g.rt.disconnect(a.id, Dropped)
		time.Sleep(10 * time.Second)
		g.must(a2, "t.join")
		time.Sleep(time.Hour)
		synctest.Wait()
		g.expect("0s t.join bob", "0s t.hold alice", "0s t.leave alice", "0s away alice", "10s t.join alice")
		m, ok := g.member(b, alice)
		if want := (Member{Player: Player{alice.id, "alice"}, Sockets: 1, Held: true}); !ok || m != want {
			t.Errorf("MemberOf(alice) = %+v, %v, want %+v", m, ok, want)
		}
	})
}

// Join of a socket that has ended does nothing.
func TestJoinEndedSocket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRig(t, Options{})
		alice, bob := newPlayer("alice"), newPlayer("bob")
		a, b := g.tab(alice), g.tab(bob)
		g.must(a, "t.join")
		var kept Socket
		g.sc.do = func(r *Context, s Socket, _ gateway.Message) error {
			kept = s
			return nil
		}
		g.must(b, "t.do")
		g.rt.disconnect(b.id, Dropped)
		var first bool
		var err error
		g.sc.do = func(r *Context, s Socket, _ gateway.Message) error {
			first, err = r.Join(kept)
			return nil
		}
		g.must(a, "t.do")
		if first || err != nil {
			t.Errorf("Join(ended socket) = %v, %v, want false, nil", first, err)
		}
		if _, ok := g.member(a, bob); ok {
			t.Error("an ended socket made its player a member")
		}
	})
}
