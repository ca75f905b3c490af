package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/cluster"
	"github.com/bigtwo/gateway/gateway/room"
	"github.com/bigtwo/gateway/gateway/room/bigtwo"
	"github.com/bigtwo/gateway/gateway/room/chat"
	"github.com/bigtwo/gateway/gateway/room/roomtest"
	"github.com/bigtwo/gateway/gateway/room/tables"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// nats-server and nats.go keep process-wide helpers running.
		goleak.IgnoreAnyFunction("github.com/nats-io/nats-server/v2/server.(*Server).Start.func1"),
		goleak.IgnoreTopFunction("time.Sleep"),
	)
}

// natsServer starts an embedded NATS server with JetStream in a temp dir.
func natsServer(t *testing.T) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

// node is one gateway of the test cluster.
type node struct {
	env    *roomtest.Env
	cl     *cluster.Cluster
	cancel context.CancelFunc
	done   chan error
}

func kinds() []*room.Kind {
	return []*room.Kind{chat.Kind(), tables.Kind(tables.Options{TurnTimeout: time.Hour})}
}

// startNode starts a gateway named name on the cluster at url; with first
// nil it makes the shared token set, else it shares first's.
func startNode(t *testing.T, url, name string, first *roomtest.Env) *node {
	t.Helper()
	return startNodeOpts(t, url, name, first, gateway.Options{})
}

func startNodeOpts(t *testing.T, url, name string, first *roomtest.Env, gopts gateway.Options) *node {
	t.Helper()
	cl, err := cluster.Dial(t.Context(), cluster.Options{URLs: []string{url}, Node: name, Log: zerolog.Nop(),
		Heartbeat: 100 * time.Millisecond, DeadAfter: 600 * time.Millisecond})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	n := &node{cl: cl, done: make(chan error, 1)}
	wrap := func(rt *room.Runtime) gateway.Handler { return cl.Handler(rt) }
	opts := room.Options{Host: cl}
	gopts.PlayerSocketsElsewhere = cl.PlayerSockets
	if first == nil {
		n.env = roomtest.NewWith(t, opts, gopts, wrap, kinds()...)
	} else {
		n.env = first.Node(t, opts, gopts, wrap, kinds()...)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() { n.done <- cl.Run(ctx) }() // stopped by kill or the cleanup below
	t.Cleanup(func() { n.kill() })
	return n
}

// kill stops the node's cluster membership at once, with no hand-off.
func (n *node) kill() {
	if n.cancel == nil {
		return
	}
	n.cancel()
	<-n.done
	_ = n.cl.Close()
	n.cancel = nil
}

func TestChatAcrossGateways(t *testing.T) {
	ns := natsServer(t)
	a := startNode(t, ns.ClientURL(), "a", nil)
	b := startNode(t, ns.ClientURL(), "b", a.env)
	ap, bp := a.env.Player("alice"), a.env.Player("bob")
	alice, bob := ap.TabAt(a.env), bp.TabAt(b.env)

	alice.Send(`{"type":"room.join","id":1,"data":{"room":"lobby"}}`)
	alice.Expect("room.joined", "1", `{"room":"lobby","members":[`+ap.JSON()+`]}`)
	waitMirrored(t, a, b) // b must know alice's socket before its frame reaches a
	bob.Send(`{"type":"room.join","id":2,"data":{"room":"lobby"}}`)
	bob.Expect("room.joined", "2", `{"room":"lobby","members":[`+ap.JSON()+`,`+bp.JSON()+`]}`)
	alice.Expect("room.member_joined", "", `{"room":"lobby","member":`+bp.JSON()+`}`)

	bob.Send(`{"type":"room.say","id":3,"data":{"room":"lobby","text":"hi from b"}}`)
	msg := `{"room":"lobby","from":` + bp.JSON() + `,"text":"hi from b"}`
	bob.Expect("room.message", "3", msg)
	alice.Expect("room.message", "", msg)

	// Listings are the cluster's: the room lives on a, bob asks b.
	bob.Send(`{"type":"room.list","id":5}`)
	bob.Expect("room.list", "5", `{"rooms":[{"room":"lobby","members":2}],"total":1}`)
	alice.Send(`{"type":"game.sit","data":{"table":"t-on-a"}}`)
	alice.ReadType("game.seated")
	alice.ReadType("game.state")
	bob.Send(`{"type":"game.list","id":6}`)
	bob.Expect("game.list", "6", `{"tables":[{"table":"t-on-a","seated":1,"status":"waiting"}],"total":1}`)

	bob.Send(`{"type":"room.say","id":4,"data":{"room":"other","text":"x"}}`)
	bob.ExpectError("not_in_room", "4")

	bob.Close()
	alice.Expect("room.member_left", "", `{"room":"lobby","member":`+bp.JSON()+`}`)
}

// waitMirrored waits until every node knows every other's sockets (a
// presence message each way, bounded by the test's deadline).
func waitMirrored(t *testing.T, nodes ...*node) {
	t.Helper()
	deadline := time.Now().Add(roomtest.Wait)
	for time.Now().Before(deadline) {
		ok := true
		for _, n := range nodes {
			for _, o := range nodes {
				if n != o && n.cl.Mirrored(o.cl.Node()) < o.env.Server.Sockets() {
					ok = false
				}
			}
		}
		if ok {
			return
		}
		time.Sleep(10 * time.Millisecond) // polling a counter with a deadline: no event to wait on across NATS
	}
	t.Fatal("sockets not mirrored across the cluster in time")
}

// A table whose four players sit on two gateways; its host is killed
// mid-hand; a survivor takes it over with every acknowledged move, and
// the players (the host's reconnecting to the survivor) play on to the end.
func TestTableSurvivesHostDeath(t *testing.T) {
	ns := natsServer(t)
	a := startNode(t, ns.ClientURL(), "a", nil)
	b := startNode(t, ns.ClientURL(), "b", a.env)
	var ps []*roomtest.Player
	var cs []*roomtest.Client
	for i := range 4 {
		p := a.env.Player(fmt.Sprintf("p%d", i))
		ps = append(ps, p)
		on := a.env
		if i%2 == 1 {
			on = b.env
		}
		cs = append(cs, p.TabAt(on))
	}
	waitMirrored(t, a, b)
	seats := make([]int, 4)
	for i, c := range cs {
		c.Send(`{"type":"game.sit","id":"s","data":{"table":"big"}}`)
		var d struct{ Seat int }
		c.ReadType("game.seated").Decode(t, &d)
		seats[i] = d.Seat
	}
	cs[0].Send(`{"type":"game.start","data":{"table":"big"}}`)
	hands := make([][]bigtwo.Card, 4)
	for i, c := range cs {
		var h struct{ Cards []bigtwo.Card }
		c.ReadType("game.hand").Decode(t, &h)
		hands[i] = h.Cards
	}
	// The host is a (it got the first sit). Play two moves, then kill a.
	st := readState(t, cs[0])
	for j := 1; j < 4; j++ {
		readUntil(t, cs[j], st)
	}
	moves := 0
	play := func(cs []*roomtest.Client, st tstate) tstate {
		t.Helper()
		turn := *st.Turn
		i := indexOf(seats, turn)
		g := bigtwo.Game{Turn: turn, Winner: -1, FirstTrick: st.FirstTrick}
		g.Hands[turn] = hands[i]
		if st.Current != nil {
			var combo bigtwo.Combo
			_ = combo.UnmarshalText([]byte(st.Current.Combo))
			g.Current = &bigtwo.Trick{Seat: st.Current.Seat, Cards: st.Current.Cards, Combo: combo}
		}
		move := g.BotMove(turn)
		if move == nil {
			cs[i].Send(`{"type":"game.pass","id":"m","data":{"table":"big"}}`)
		} else {
			b, _ := json.Marshal(move)
			cs[i].Send(`{"type":"game.play","id":"m","data":{"table":"big","cards":` + string(b) + `}}`)
			var h struct{ Cards []bigtwo.Card }
			cs[i].ReadType("game.hand").Decode(t, &h)
			hands[i] = h.Cards
		}
		moves++
		var after tstate
		for {
			f := cs[i].ReadType("game.state")
			if string(f.ID) == `"m"` {
				f.Decode(t, &after)
				break
			}
		}
		for j, c := range cs {
			if j != i {
				readUntil(t, c, after)
			}
		}
		return after
	}
	st = play(cs, st)
	st = play(cs, st)
	before := st

	a.kill()
	// a's players reconnect to b with the same tokens.
	for i := 0; i < 4; i += 2 {
		cs[i].Drop()
		cs[i] = ps[i].TabAt(b.env)
	}
	start := time.Now()
	readUntil(t, cs[1], before) // b's players get game.state when b takes the table over
	t.Logf("table answered again on b %v after the kill", time.Since(start).Round(time.Millisecond))
	st = before
	for j := range cs {
		if j != 1 {
			readUntil(t, cs[j], before) // the reconnected ones too: resynced unasked
		}
	}
	for st.Status == "playing" {
		st = play(cs, st)
		if moves > 400 {
			t.Fatal("no end")
		}
	}
}

type tstate struct {
	Status string `json:"status"`
	HandNo int    `json:"hand_no"`
	Turn   *int   `json:"turn"`
	Seats  []struct {
		Cards int `json:"cards"`
	} `json:"seats"`
	Current *struct {
		Seat  int           `json:"seat"`
		Cards []bigtwo.Card `json:"cards"`
		Combo string        `json:"combo"`
	} `json:"current"`
	FirstTrick bool `json:"first_trick"`
	Passes     int  `json:"passes"`
}

func readState(t *testing.T, c *roomtest.Client) tstate {
	t.Helper()
	var st tstate
	c.ReadType("game.state").Decode(t, &st)
	return st
}

// readUntil reads c's game.state frames until one that shows want's
// point of the hand (the same turn, passes and cards left).
func readUntil(t *testing.T, c *roomtest.Client, want tstate) {
	t.Helper()
	for {
		if st := readState(t, c); st.fingerprint() == want.fingerprint() {
			return
		}
	}
}

func (st tstate) fingerprint() string {
	cards := 0
	for _, s := range st.Seats {
		cards = cards*14 + s.Cards
	}
	turn := -1
	if st.Turn != nil {
		turn = *st.Turn
	}
	return fmt.Sprint(st.Status, st.HandNo, turn, st.Passes, cards)
}

func indexOf(seats []int, seat int) int {
	for i, s := range seats {
		if s == seat {
			return i
		}
	}
	return -1
}

// GATEWAY_MAX_SOCKETS_PER_PLAYER holds across gateways.
func TestSocketCapAcrossGateways(t *testing.T) {
	ns := natsServer(t)
	a := startNodeOpts(t, ns.ClientURL(), "a", nil, gateway.Options{MaxSocketsPerPlayer: 2})
	b := startNodeOpts(t, ns.ClientURL(), "b", a.env, gateway.Options{MaxSocketsPerPlayer: 2})
	p := a.env.Player("many-tabs")
	p.TabAt(a.env)
	p.TabAt(b.env)
	waitMirrored(t, a, b)
	if code := p.TabAtRaw(a.env).WaitClose(); code != gateway.StatusTooManySockets {
		t.Fatalf("third socket closed with %d, want 4008", code)
	}
}
