package room

import (
	"fmt"
	"testing"
	"testing/synctest"
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
