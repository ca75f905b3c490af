package room

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bigtwo/gateway/gateway"
)

// Frames from three players with two tabs each and a timer chain, fired at
// one room from real goroutines at once, are seen one at a time, each
// exactly once, each socket's in the order it sent them. The room's state
// is a plain slice and counter without locks: -race proves the order.
func TestOneOrderPerRoom(t *testing.T) {
	g := newRig(t, Options{})
	g.sc.quiet = true
	const frames, ticks = 300, 200
	var tabs []*fakeSink
	for _, name := range []string{"alice", "bob", "carol"} {
		p := newPlayer(name)
		for range 2 {
			f := g.tab(p)
			g.must(f, "t.join")
			tabs = append(tabs, f)
		}
	}

	type seen struct {
		from string // "#<socket>" or "timer"
		n    int
	}
	var (
		events        []seen
		inside, maxIn int
		ticked        = make(chan struct{})
		tick          func(r *Context)
		ticksSoFar    int
	)
	enter := func() {
		inside++
		maxIn = max(maxIn, inside)
	}
	tick = func(r *Context) {
		enter()
		defer func() { inside-- }()
		events = append(events, seen{"timer", ticksSoFar})
		if ticksSoFar++; ticksSoFar < ticks {
			r.After(20*time.Microsecond, tick)
		} else {
			close(ticked)
		}
	}
	g.sc.do = func(r *Context, s Socket, m gateway.Message) error {
		enter()
		defer func() { inside-- }()
		n, err := strconv.Atoi(string(m.ID))
		if err != nil {
			return err
		}
		if n < 0 {
			r.After(0, tick)
			return nil
		}
		events = append(events, seen{fmt.Sprint("#", s.ID()), n})
		return nil
	}
	if err := g.rt.message(tabs[0].id, gateway.Message{Type: "t.do", ID: json.RawMessage("-1")}); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, len(tabs))
	for _, f := range tabs {
		wg.Go(func() {
			for n := range frames {
				if err := g.rt.message(f.id, gateway.Message{Type: "t.do", ID: json.RawMessage(strconv.Itoa(n))}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	<-ticked

	// The last tick and every frame's answer happened before this point.
	if maxIn != 1 {
		t.Errorf("events running at once = %d, want 1", maxIn)
	}
	if len(events) != len(tabs)*frames+ticks {
		t.Errorf("events seen = %d, want %d", len(events), len(tabs)*frames+ticks)
	}
	next := map[string]int{}
	for _, e := range events {
		if e.n != next[e.from] {
			t.Fatalf("%s's event %d came when %d was due", e.from, e.n, next[e.from])
		}
		next[e.from]++
	}
	for _, f := range tabs {
		if n := next[fmt.Sprint("#", f.id)]; n != frames {
			t.Errorf("frames seen from #%d = %d, want %d", f.id, n, frames)
		}
	}
}
