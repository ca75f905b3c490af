package cluster_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/bigtwo/gateway/gateway/room/roomtest"
)

// table4 seats four players, two on each of a and b (a hosts the table:
// its player sits first), deals and returns the clients, by seat order of
// sitting, with their seats.
func table4(t *testing.T, a, b *node, name string) ([]*roomtest.Player, []*roomtest.Client, []int) {
	t.Helper()
	var ps []*roomtest.Player
	var cs []*roomtest.Client
	for i := range 4 {
		p := a.env.Player(fmt.Sprintf("%s-p%d", name, i))
		on := a.env
		if i%2 == 1 {
			on = b.env
		}
		ps = append(ps, p)
		cs = append(cs, p.TabAt(on))
	}
	waitMirrored(t, a, b)
	seats := make([]int, 4)
	for i, c := range cs {
		c.Send(`{"type":"game.sit","id":"s","data":{"table":"` + name + `"}}`)
		var d struct{ Seat int }
		c.ReadType("game.seated").Decode(t, &d)
		seats[i] = d.Seat
	}
	cs[0].Send(`{"type":"game.start","data":{"table":"` + name + `"}}`)
	return ps, cs, seats
}

// pause stops the node's heartbeats and NATS traffic, as a SIGSTOP would
// for the cluster (its sockets stay connected to it).
func (n *node) pause() {
	n.cancel()
	<-n.done
}

// resume starts the node's cluster loop again.
func (n *node) resume() {
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.done = make(chan error, 1)
	go func() { n.done <- n.cl.Run(ctx) }() // stopped by kill
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(roomtest.Wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, roomtest.Wait)
		}
		time.Sleep(10 * time.Millisecond) // a state across NATS: no event to wait on
	}
}

// A paused host loses its table to b; woken, it lets the table go and
// never acts on it again, while the game goes on at b and reaches a's
// players too.
func TestPausedHostLetsGo(t *testing.T) {
	ns := natsServer(t)
	a := startNode(t, ns.ClientURL(), "a", nil)
	b := startNode(t, ns.ClientURL(), "b", a.env)
	_, cs, _ := table4(t, a, b, "paused")
	for _, c := range cs {
		c.ReadType("game.hand")
	}
	if a.cl.Hosted() != 1 || b.cl.Hosted() != 0 {
		t.Fatalf("hosted: a %d, b %d; want the table on a", a.cl.Hosted(), b.cl.Hosted())
	}
	a.pause()
	// b's players see the table again when b takes it over.
	cs[1].ReadType("game.state")
	waitFor(t, "b hosts the table", func() bool { return b.cl.Hosted() == 1 })
	a.resume()
	waitFor(t, "a lets the table go", func() bool { return a.cl.Hosted() == 0 })
	// A frame from a's player is handled at b now: standing up during a
	// hand hands the seat to the bot.
	cs[0].Send(`{"type":"game.stand","id":"x","data":{"table":"paused"}}`)
	for {
		f := cs[0].Read()
		if string(f.ID) != `"x"` {
			continue
		}
		var st tstate
		if f.Type != "game.state" {
			t.Fatalf("game.stand answered %s %s, want game.state", f.Type, f.Data)
		}
		f.Decode(t, &st)
		break
	}
	if a.cl.Hosted() != 0 || b.cl.Hosted() != 1 {
		t.Fatalf("hosted after: a %d, b %d; want the table on b only", a.cl.Hosted(), b.cl.Hosted())
	}
}

// With NATS down, room frames that need it are answered unavailable;
// once it is back, everything works again without a restart.
func TestNATSRestart(t *testing.T) {
	dir := t.TempDir()
	opts := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true}
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	url := ns.ClientURL()
	a := startNode(t, url, "a", nil)
	b := startNode(t, url, "b", a.env)
	ap, bp := a.env.Player("alice"), a.env.Player("bob")
	alice, bob := ap.TabAt(a.env), bp.TabAt(b.env)
	waitMirrored(t, a, b)
	alice.Send(`{"type":"room.join","data":{"room":"lobby"}}`)
	alice.ReadType("room.joined")
	bob.Send(`{"type":"room.join","data":{"room":"lobby"}}`)
	bob.ReadType("room.joined")
	alice.ReadType("room.member_joined")

	port := ns.Addr().(*net.TCPAddr).Port
	ns.Shutdown()
	waitFor(t, "a sees NATS gone", func() bool { return !a.cl.Ready() })
	bob.Send(`{"type":"room.say","id":1,"data":{"room":"lobby","text":"anyone?"}}`)
	for f := bob.Read(); string(f.ID) != "1"; f = bob.Read() {
		t.Logf("bob got %s %s %s", f.Type, f.ID, f.Data)
	}

	opts2 := *opts
	opts2.Port = port
	ns2, err := server.NewServer(&opts2)
	if err != nil {
		t.Fatal(err)
	}
	ns2.Start()
	t.Cleanup(ns2.Shutdown)
	if !ns2.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready again")
	}
	waitFor(t, "both back", func() bool { return a.cl.Ready() && b.cl.Ready() })
	deadline := time.Now().Add(roomtest.Wait)
	for i := 2; ; i++ {
		bob.Send(fmt.Sprintf(`{"type":"room.say","id":%d,"data":{"room":"lobby","text":"back"}}`, i))
		f := bob.Read()
		if f.Type == "room.message" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after NATS came back: %s %s", f.Type, f.Data)
		}
		time.Sleep(100 * time.Millisecond) // retrying as a client would
	}
	alice.ReadType("room.message")
}

// A drain hands the table to b before a's sockets get 1001: b's players
// see it at once, a's reconnect to b and get their seat and hand back.
func TestDrainHandsOff(t *testing.T) {
	ns := natsServer(t)
	a := startNode(t, ns.ClientURL(), "a", nil)
	b := startNode(t, ns.ClientURL(), "b", a.env)
	ps, cs, _ := table4(t, a, b, "drained")
	hands := make([]int, 4)
	for i, c := range cs {
		var h struct{ Cards []string }
		c.ReadType("game.hand").Decode(t, &h)
		hands[i] = len(h.Cards)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// The drain, in app's order: rooms stop, hand-off, then the sockets.
	t0 := time.Now()
	defer func() { t.Logf("drain and hand-off: %v", time.Since(t0)) }()
	if err := a.env.Runtime.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("rooms stopped: %v", time.Since(t0))
	if err := a.cl.Handoff(ctx); err != nil {
		t.Fatalf("Handoff: %v", err)
	}
	t.Logf("handed off: %v", time.Since(t0))
	if b.cl.Hosted() != 1 {
		t.Fatalf("b hosts %d rooms after the hand-off, want 1", b.cl.Hosted())
	}
	shut := make(chan error, 1)
	go func() { shut <- a.env.Server.Shutdown(ctx) }() // its close handshakes need the clients reading
	for i := 0; i < 4; i += 2 {
		if code := cs[i].WaitClose(); code != websocket.StatusGoingAway {
			t.Fatalf("a's socket closed with %d, want 1001", code)
		}
		cs[i] = ps[i].TabAt(b.env)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for i, c := range cs {
		var h struct{ Cards []string }
		c.ReadType("game.hand").Decode(t, &h)
		if len(h.Cards) != hands[i] {
			t.Fatalf("player %d hand after the hand-off = %d cards, want %d", i, len(h.Cards), hands[i])
		}
	}
}
