package tables_test

import (
	"encoding/json"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/room"
	"github.com/bigtwo/gateway/gateway/room/tables"
	"github.com/bigtwo/gateway/session"
)

// fakeConn is a socket that keeps the frames it gets, for tests under
// testing/synctest, where real sockets cannot be.
type fakeConn struct {
	id  uint64
	who session.Identity
	mu  sync.Mutex
	got []gateway.Message
}

func (f *fakeConn) ID() uint64                 { return f.id }
func (f *fakeConn) Identity() session.Identity { return f.who }
func (f *fakeConn) ClientIP() string           { return "192.0.2.1" }
func (f *fakeConn) Send(m gateway.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, m)
	return nil
}
func (f *fakeConn) Reply(m gateway.Message) error { return f.Send(m) }
func (f *fakeConn) SendPrepared(p gateway.PreparedMessage) error {
	var m struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	_ = json.Unmarshal(p.Frame(), &m)
	return f.Send(gateway.Message{Type: m.Type, Data: m.Data})
}

// take returns and forgets the frames received so far.
func (f *fakeConn) take() []gateway.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	got := f.got
	f.got = nil
	return got
}

// The turn deadline plays the bot move for a silent player, exactly at
// GATEWAY_TURN_TIMEOUT, and bots move at once; time is synctest's.
func TestTurnDeadlinePlaysForSilentPlayer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := room.New(zerolog.Nop(), room.Options{}, tables.Kind(tables.Options{TurnTimeout: 30 * time.Second}))
		defer func() { _ = rt.Shutdown(t.Context()) }()
		c := &fakeConn{id: 1, who: session.Identity{PlayerID: uuid.New(), SessionID: uuid.New(), Username: "silent"}}
		rt.Open(c)
		for _, f := range []string{`{"table":"slow"}`, `{"table":"slow","bots":true}`} {
			typ := "game.sit"
			if len(f) > 20 {
				typ = "game.start"
			}
			if err := rt.Frame(c.id, gateway.Message{Type: typ, Data: json.RawMessage(f)}); err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
		}
		synctest.Wait() // bots before the player have moved, at once
		start := time.Now()
		mySeat, turn := -1, -1
		for _, m := range c.take() {
			var d struct {
				Seat int
				Turn *int
			}
			_ = json.Unmarshal(m.Data, &d)
			switch m.Type {
			case "game.seated":
				mySeat = d.Seat
			case "game.state":
				if d.Turn != nil {
					turn = *d.Turn
				}
			}
		}
		if turn != mySeat {
			t.Fatalf("after the bots: turn %d, want the player's seat %d (bots move at once)", turn, mySeat)
		}
		time.Sleep(30*time.Second - time.Nanosecond)
		synctest.Wait()
		for _, m := range c.take() {
			if m.Type == "game.played" || m.Type == "game.passed" {
				t.Fatalf("%s before the deadline", m.Type)
			}
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		moved := false
		for _, m := range c.take() {
			var d struct{ Seat int }
			_ = json.Unmarshal(m.Data, &d)
			if (m.Type == "game.played" || m.Type == "game.passed") && d.Seat == mySeat {
				moved = true
			}
		}
		if !moved {
			t.Fatalf("no move for the silent player at the deadline (%v after their turn began)", time.Since(start))
		}
	})
}

// Between hands, a seat whose player has been away for SeatGrace is freed,
// not a moment before; a return within the grace keeps it.
func TestSeatGraceBetweenHands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := room.New(zerolog.Nop(), room.Options{}, tables.Kind(tables.Options{SeatGrace: 2 * time.Minute}))
		defer func() { _ = rt.Shutdown(t.Context()) }()
		stay := &fakeConn{id: 1, who: session.Identity{PlayerID: uuid.New(), SessionID: uuid.New(), Username: "stay"}}
		away := &fakeConn{id: 2, who: session.Identity{PlayerID: uuid.New(), SessionID: uuid.New(), Username: "away"}}
		for _, c := range []*fakeConn{stay, away} {
			rt.Open(c)
			if err := rt.Frame(c.id, gateway.Message{Type: "game.sit", Data: json.RawMessage(`{"table":"g"}`)}); err != nil {
				t.Fatal(err)
			}
		}
		seated := func() int {
			n := 0
			msgs := stay.take()
			for i := len(msgs) - 1; i >= 0; i-- {
				if msgs[i].Type != "game.state" {
					continue
				}
				var st state
				_ = json.Unmarshal(msgs[i].Data, &st)
				for _, s := range st.Seats {
					if s.Player != nil {
						n++
					}
				}
				return n
			}
			return -1 // no news
		}
		synctest.Wait()
		stay.take()
		rt.Close(away.id, room.Dropped)
		synctest.Wait()
		if n := seated(); n != 2 {
			t.Fatalf("seated right after the drop = %d, want 2 (away, kept)", n)
		}
		time.Sleep(2*time.Minute - time.Nanosecond)
		synctest.Wait()
		if n := seated(); n != -1 {
			t.Fatalf("a state before the grace ran out: %d seated", n)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if n := seated(); n != 1 {
			t.Fatalf("seated after the grace = %d, want 1", n)
		}
	})
}

// When the last player leaves mid-hand, the bots play the hand out one
// move every botPace (250 ms), not in a burst that would overflow a
// watcher's send queue.
func TestBotsAloneArePaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := room.New(zerolog.Nop(), room.Options{}, tables.Kind(tables.Options{TurnTimeout: 30 * time.Second}))
		defer func() { _ = rt.Shutdown(t.Context()) }()
		p := &fakeConn{id: 1, who: session.Identity{PlayerID: uuid.New(), SessionID: uuid.New(), Username: "leaver"}}
		w := &fakeConn{id: 2, who: session.Identity{PlayerID: uuid.New(), SessionID: uuid.New(), Username: "watcher"}}
		rt.Open(p)
		rt.Open(w)
		for _, f := range []struct {
			c         *fakeConn
			typ, data string
		}{
			{p, "game.sit", `{"table":"alone"}`},
			{w, "game.watch", `{"table":"alone"}`},
			{p, "game.start", `{"table":"alone","bots":true}`},
			{p, "game.stand", `{"table":"alone"}`},
		} {
			if err := rt.Frame(f.c.id, gateway.Message{Type: f.typ, Data: json.RawMessage(f.data)}); err != nil {
				t.Fatalf("%s: %v", f.typ, err)
			}
		}
		synctest.Wait()
		w.take()
		for i := range 3 {
			time.Sleep(250*time.Millisecond - time.Nanosecond)
			synctest.Wait()
			for _, m := range w.take() {
				if m.Type == "game.played" || m.Type == "game.passed" {
					t.Fatalf("bot move %d came before 250 ms", i)
				}
			}
			time.Sleep(time.Nanosecond)
			synctest.Wait()
			moved := false
			for _, m := range w.take() {
				moved = moved || m.Type == "game.played" || m.Type == "game.passed" || m.Type == "game.over"
			}
			if !moved {
				t.Fatalf("no bot move at 250 ms (move %d)", i)
			}
		}
	})
}
