package room

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bigtwo/gateway/gateway"
)

// timer is a room timer that logs its name when it runs.
func (g *rig) timer(r *Context, d time.Duration, name string) *Timer {
	return r.After(d, func(*Context) { g.sc.logf("timer %s", name) })
}

// Timers run in the room's order by deadline, and those due at the same
// instant in the order they were set.
func TestTimersRunInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRig(t, Options{})
		a := g.tab(newPlayer("alice"))
		g.must(a, "t.join")
		g.sc.do = func(r *Context, s Socket, _ gateway.Message) error {
			g.timer(r, 3*time.Second, "c")
			for _, name := range []string{"a1", "a2", "a3", "a4", "a5"} {
				g.timer(r, time.Second, name)
			}
			g.timer(r, 2*time.Second, "b")
			g.timer(r, 0, "now")
			r.After(time.Second, func(r *Context) { // a timer set by a timer
				g.sc.logf("timer a6")
				g.timer(r, 0, "after a6")
			})
			return nil
		}
		g.must(a, "t.do")
		time.Sleep(time.Hour)
		synctest.Wait()
		g.expect("0s t.join alice", "0s t.do alice", "0s timer now",
			"1s timer a1", "1s timer a2", "1s timer a3", "1s timer a4", "1s timer a5", "1s timer a6", "1s timer after a6",
			"2s timer b", "3s timer c")
	})
}

func TestTimerStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRig(t, Options{})
		a := g.tab(newPlayer("alice"))
		g.must(a, "t.join")
		var one, two, three *Timer
		var stopped []bool
		g.sc.do = func(r *Context, s Socket, _ gateway.Message) error {
			one = r.After(time.Second, func(*Context) {
				g.sc.logf("timer one")
				stopped = append(stopped, three.Stop()) // due at the same instant, not yet run
			})
			three = g.timer(r, time.Second, "three")
			two = g.timer(r, 2*time.Second, "two")
			return nil
		}
		g.must(a, "t.do")
		g.sc.do = func(r *Context, s Socket, _ gateway.Message) error {
			stopped = append(stopped, two.Stop(), one.Stop(), two.Stop())
			return nil
		}
		time.Sleep(1500 * time.Millisecond)
		g.must(a, "t.do")
		time.Sleep(time.Hour)
		synctest.Wait()
		g.expect("0s t.join alice", "0s t.do alice", "1s timer one", "1.5s t.do alice")
		want := []bool{true, true, false, false} // three pending; two pending, one ran, two stopped
		if !equal(stopped, want) {
			t.Errorf("Stop() = %v, want %v", stopped, want)
		}
		var nilTimer *Timer
		if nilTimer.Stop() {
			t.Error("(*Timer)(nil).Stop() = true")
		}
	})
}

func equal(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A room's timers die with it when it vanishes; a new room of the same
// name does not inherit them.
func TestTimersDieWithTheRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRig(t, Options{})
		a := g.tab(newPlayer("alice"))
		g.must(a, "t.join")
		g.sc.do = func(r *Context, s Socket, _ gateway.Message) error {
			g.timer(r, time.Minute, "late")
			return nil
		}
		g.must(a, "t.do")
		g.must(a, "t.leave") // the last member: the room vanishes
		if n := g.roomCount(); n != 0 {
			t.Fatalf("rooms after the last member left = %d, want 0", n)
		}
		g.must(a, "t.join") // a new room "r"
		time.Sleep(time.Hour)
		synctest.Wait()
		g.expect("0s t.join alice", "0s t.do alice", "0s t.leave alice", "0s t.join alice")
		if g.sc.news != 2 {
			t.Errorf("rooms made = %d, want 2", g.sc.news)
		}

		// A frame that joins nobody makes a room that vanishes at once,
		// with the timers it set.
		g.sc.do = func(r *Context, s Socket, _ gateway.Message) error {
			g.timer(r, time.Second, "orphan")
			return nil
		}
		if err := g.sendTo(a, "t.do", "empty"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		g.expect("1h0m0s t.do alice")
		if n := g.roomCount(); n != 1 {
			t.Errorf("rooms = %d, want 1", n)
		}
	})
}

// Shutdown runs each room's Stop in its order, then its timers stop
// (those set by Stop too), and later frames get unavailable.
func TestShutdownStopsTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRig(t, Options{})
		a := g.tab(newPlayer("alice"))
		g.must(a, "t.join")
		if err := g.sendTo(a, "t.join", "other"); err != nil {
			t.Fatal(err)
		}
		g.sc.do = func(r *Context, s Socket, _ gateway.Message) error {
			g.timer(r, time.Minute, "late")
			return nil
		}
		g.must(a, "t.do")
		g.sc.stop = func(r *Context) { g.timer(r, 0, "set by stop") }
		if err := g.rt.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		g.expect("0s t.join alice", "0s t.join alice", "0s t.do alice", "0s stop", "0s stop")
		if err := g.send(a, "t.do"); !errors.Is(err, ErrUnavailable) {
			t.Errorf("frame after Shutdown = %v, want ErrUnavailable", err)
		}
		if n := g.roomCount(); n != 0 {
			t.Errorf("rooms after Shutdown = %d, want 0", n)
		}
		if err := g.rt.Shutdown(t.Context()); err != nil { // again
			t.Errorf("second Shutdown = %v", err)
		}
	})
}
