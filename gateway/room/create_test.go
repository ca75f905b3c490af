package room

import (
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/bigtwo/gateway/gateway"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The frame that makes a room is the room's first event after New: the
// room does not vanish in between (which made New run again, and again).
func TestNewOncePerRoom(t *testing.T) {
	synctest.Test(t, testNewOncePerRoom)
}

func testNewOncePerRoom(t *testing.T) {
	g := newRig(t, Options{})
	a := g.tab(newPlayer("alice"))
	const rooms = 2000
	for i := range rooms {
		if err := g.sendTo(a, "t.nothing", fmt.Sprint("r", i)); err != nil {
			t.Fatal(err)
		}
	}
	if g.sc.news != rooms { // read after the last frame's answer
		t.Errorf("New ran %d times for %d rooms", g.sc.news, rooms)
	}
	synctest.Wait() // the last room vanishes after its frame's answer
	if n := g.roomCount(); n != 0 {
		t.Errorf("rooms left = %d, want 0: a frame that joins nobody leaves no room", n)
	}
}

// Listings count a room's members as they join and leave, before the room
// answers them, and leave out rooms without members: a client that got the
// answer to its leave does not list the room it emptied.
func TestListingsFollowMembership(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRig(t, Options{})
		alice, bob := newPlayer("alice"), newPlayer("bob")
		a, b := g.tab(alice), g.tab(bob)
		var during [][]Info
		g.sc.do = func(r *Context, s Socket, _ gateway.Message) error {
			during = append(during, g.rt.Rooms())
			if r.In(s) {
				r.LeaveSocket(s)
			} else if _, err := r.Join(s); err != nil {
				return err
			}
			during = append(during, g.rt.Rooms())
			return nil
		}
		g.must(a, "t.do") // makes "r" and joins
		g.must(b, "t.do") // joins
		g.must(b, "t.do") // leaves
		g.must(a, "t.do") // leaves: the room will vanish
		r := func(n int) []Info { return []Info{{Kind: "probe", Name: "r", Members: n}} }
		want := [][]Info{{}, r(1), r(1), r(2), r(2), r(1), r(1), {}}
		if diff := cmp.Diff(want, during, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Rooms() before and after each join and leave (-want +got):\n%s", diff)
		}
	})
}
