package app_test

// Multi-process end-to-end tests of the cluster (DESIGN.md, "Cluster:
// several gateways, one game"): the gateway binary built once, a real
// nats-server with JetStream, and three gateway processes on one
// PostgreSQL schema. They run when GATEWAY_TEST_NATS_SERVER names a
// nats-server binary and GATEWAY_TEST_DATABASE_URL a database.

import (
	"flag"
	"net/http"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/bigtwo/gateway/store/postgres/pgtest"
)

var failoverKills = flag.Int("failover.kills", 0,
	"TestCluster/Failover: kill -9 the table's host this many times and report the time until the table answers again")

// failoverGoal is the contract's bound on a table's fail-over.
const failoverGoal = 5 * time.Second

func TestCluster(t *testing.T) {
	natsBin := natsServerBinary(t)
	pgtest.DatabaseURL(t) // skip, before building, when there is no database
	bin := buildGateway(t)

	// Four players on three gateways sit at one table and play a hand.
	t.Run("Hand", func(t *testing.T) {
		cl := newCluster(t, bin, natsBin)
		tb := newTable(t, cl, "e2e")
		tb.sit()
		tb.start()
		t.Logf("table hosted by %s; players on a, b, c, a", cl.hostOf(tb.name).name)
		tb.playHand()
		tb.check()
	})

	// kill -9 of the table's host mid-hand: the players on it reconnect
	// to the survivors with their old tokens, everyone gets game.state and
	// their hand again unasked, no acknowledged move is lost, and the hand
	// finishes.
	t.Run("HostKilled", func(t *testing.T) {
		cl := newCluster(t, bin, natsBin)
		tb := newTable(t, cl, "e2e")
		tb.sit()
		tb.start()
		for range 3 {
			tb.move()
		}
		resync, answer, host := tb.killHost()
		t.Logf("kill -9 of host %s: game.state resent after %v, next move acknowledged after %v (on %s)",
			host.name, resync.Round(time.Millisecond), answer.Round(time.Millisecond), cl.hostOf(tb.name).name)
		if answer > failoverGoal {
			t.Errorf("the table answered %v after its host died, want within %v", answer, failoverGoal)
		}
		if n := cl.hostOf(tb.name).metric("gateway_cluster_takeovers_total"); n < 1 {
			t.Errorf("gateway_cluster_takeovers_total on the new host = %v, want at least 1", n)
		}
		tb.playHand()
		tb.check()
	})

	// A rolling restart of the three gateways (SIGTERM, wait for the exit,
	// start again on the same port, next) during a hand loses nothing.
	t.Run("RollingRestart", func(t *testing.T) {
		cl := newCluster(t, bin, natsBin)
		tb := newTable(t, cl, "e2e")
		tb.sit()
		tb.start()
		tb.move()
		seats := tb.acked.Seats
		for _, g := range cl.gws {
			wasHost := cl.hostOf(tb.name) == g
			var open []*wsConn
			for _, c := range tb.conns {
				if done, _ := c.closed(); c.gw == g.name && !done {
					open = append(open, c)
				}
			}
			mark := cl.logMark()
			start := time.Now()
			g.draining = true
			if err := g.p.signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			tb.move() // sent during the drain
			served := time.Since(start)
			if err := g.p.wait(30 * time.Second); err != nil {
				t.Fatalf("gateway %s after SIGTERM: %v", g.name, err)
			}
			t.Logf("SIGTERM of %s (host: %v): next move acknowledged after %v, process exited after %v\n%s",
				g.name, wasHost, served.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), cl.clusterLog(mark))
			if served > failoverGoal {
				t.Errorf("the table answered %v after SIGTERM of %s, want within %v", served, g.name, failoverGoal)
			}
			for _, c := range open {
				if done, code := c.closed(); !done || code != websocket.StatusGoingAway {
					t.Errorf("%s: closed %v with %d when its gateway drained, want 1001", c.name, done, code)
				}
			}
			g.start()
			g.waitReady()
			tb.moveOrDeal()
		}
		for s, st := range tb.acked.Seats {
			if st.Player == nil || seats[s].Player == nil || st.Player.PlayerID != seats[s].Player.PlayerID {
				t.Fatalf("seat %d after the restarts: %+v, want the player %+v", s, st.Player, seats[s].Player)
			}
		}
		tb.playHand()
		tb.check()
	})

	// The table's host is paused (SIGSTOP) for 6 s: a survivor takes the
	// table over and its players play on; the woken host must not act on
	// the table: /admin/rooms shows one host, moves keep working, and no
	// duplicate or conflicting frame reaches a player, on any socket,
	// those left open on the paused host included.
	t.Run("PausedHost", func(t *testing.T) {
		const pause = 6 * time.Second
		cl := newCluster(t, bin, natsBin)
		tb := newTable(t, cl, "e2e")
		tb.sit()
		tb.start()
		tb.move()
		tb.move()
		host := cl.hostOf(tb.name)
		stopped := time.Now()
		host.pause(true)
		var moved []*e2ePlayer
		for _, p := range tb.players {
			if p.c.gw == host.name {
				moved = append(moved, p)
				tb.reconnect(p) // the old socket stays open on the paused host
			}
		}
		if len(moved) < 2 {
			t.Fatalf("%d players on the host %s, want 2", len(moved), host.name)
		}
		resync := tb.resynced(stopped)
		took := cl.hostOf(tb.name)
		t.Logf("%s paused: %s took the table over, game.state resent after %v", host.name, took.name, resync.Round(time.Millisecond))
		for tb.playing() && time.Since(stopped) < pause-time.Second && tb.acked.Seats[tb.acked.turn()].Cards > 1 {
			tb.move()
		}
		time.Sleep(time.Until(stopped.Add(pause))) // the pause itself
		host.pause(false)
		host.waitReady()
		if got := cl.hostOf(tb.name); got != took {
			t.Errorf("after %s woke, the cluster names %s the host of table %s, want %s", host.name, got.name, tb.name, took.name)
		}

		// One player opens a fresh socket on the woken host: it gets the
		// table as it is now.
		p := moved[0]
		tb.open(p, host)
		want := tb.acked.key()
		for {
			f, err := p.c.next(time.Now().Add(e2eWait))
			if err != nil {
				t.Fatalf("%s: waiting for game.state: %v", p.c.name, err)
			}
			if f.Type == "game.state" {
				if got := decodeState(t, f); got.key() != want {
					t.Fatalf("%s on the woken host got the state\n%s\nwant\n%s", p.c.name, got.key(), want)
				}
				break
			}
		}
		tb.playHand()
		cl.hostOf(tb.name) // one host, named alike by every gateway
		tb.check()
	})

	// NATS goes away mid-hand and comes back (same port, same store):
	// meanwhile /readyz says 503, sockets stay open and a move is answered
	// unavailable (not dropped, and not applied later); afterwards the
	// table plays on with every acknowledged move, without a restart. The
	// move is made by a player on the host, then by one on another gateway
	// (forwarded through NATS).
	for _, forwarded := range []bool{false, true} {
		name := map[bool]string{false: "NATSDown/OnHost", true: "NATSDown/Forwarded"}[forwarded]
		t.Run(name, func(t *testing.T) { natsDown(t, bin, natsBin, forwarded) })
	}

	// The same pause as a frozen VM looks to its clients: their TCP
	// connections to the paused host survive, and nobody reconnects.
	// When it wakes, they play on through those sockets: the woken host
	// must either serve them the table as it is (tell the cluster of its
	// sockets again) or close them so that they reconnect; a socket left
	// open but deaf fails the next sync.
	t.Run("PausedHostSocketsLeftOpen", func(t *testing.T) {
		const pause = 6 * time.Second
		cl := newCluster(t, bin, natsBin)
		tb := newTable(t, cl, "e2e")
		tb.sit()
		tb.start()
		tb.move()
		host := cl.hostOf(tb.name)
		stopped := time.Now()
		host.pause(true)
		took := cl.hostOf(tb.name)                 // waits for the take-over
		time.Sleep(time.Until(stopped.Add(pause))) // the pause itself
		host.pause(false)
		host.waitReady()
		t.Logf("%s paused for %v, %s took the table over", host.name, pause, took.name)
		tb.playHand()
		tb.check()
	})

	// A gateway that is not the table's host is killed and started again
	// at once, before the others count it dead (as a supervisor restarts a
	// crashed process); players connect to it again, another player's
	// socket first. Nobody may get another player's frames: a socket of
	// the new process must not be taken for one of the old.
	t.Run("QuickRestart", func(t *testing.T) {
		cl := newCluster(t, bin, natsBin)
		tb := newTable(t, cl, "e2e")
		tb.sit()
		tb.start()
		tb.move()
		host := cl.hostOf(tb.name)
		var g *e2eGateway // a gateway that is not the host, with one player
		for _, c := range cl.gws {
			if c != host && slices.ContainsFunc(tb.players, func(p *e2ePlayer) bool { return p.c.gw == c.name }) {
				g = c
			}
		}
		killed := time.Now()
		g.kill9()
		g.start()
		g.waitReady()
		t.Logf("%s (host %s) killed and ready again after %v", g.name, host.name, time.Since(killed).Round(time.Millisecond))
		// First a socket of a player from elsewhere, then the players that
		// were on g.
		for _, p := range tb.players {
			if p.c.gw != g.name {
				tb.open(p, g)
				break
			}
		}
		for _, p := range tb.players {
			if done, _ := p.c.closed(); done || p.c.gw == g.name && tb.survived(p.c, killed) {
				tb.open(p, g)
			}
		}
		tb.playHand()
		tb.check()
	})

	// The fail-over figure of docs/PERFORMANCE.md: -failover.kills=N kills
	// the table's host N times mid-hand (restarting it each time).
	t.Run("Failover", func(t *testing.T) {
		if *failoverKills <= 0 {
			t.Skip("run with -failover.kills=20 to measure the fail-over time")
		}
		cl := newCluster(t, bin, natsBin)
		tb := newTable(t, cl, "e2e")
		tb.sit()
		tb.start()
		var resyncs, answers []time.Duration
		for k := range *failoverKills {
			tb.moveOrDeal()
			mark, before := cl.logMark(), time.Now()
			resync, answer, host := tb.killHost()
			resyncs, answers = append(resyncs, resync), append(answers, answer)
			t.Logf("kill %d of %s: game.state resent after %v, next move acknowledged after %v",
				k+1, host.name, resync.Round(time.Millisecond), answer.Round(time.Millisecond))
			// Restart it only once every survivor has counted it dead: a
			// gateway back sooner meets the bug QuickRestart shows. (One
			// started less than 3 s before the kill may never have heard
			// of it, and then holds nothing of it either.)
			for _, g := range cl.gws {
				if g.usable() && before.Sub(g.started) > 3*time.Second {
					cl.waitLogged(mark, g, `"node":"`+host.name+`"`, "gateway gone silent")
				}
			}
			host.start()
			host.waitReady()
			tb.goHome() // players back on a, b, c, a, so that the next kill has survivors at the table
		}
		t.Logf("over %d kills: game.state resent after median %v, max %v; next move acknowledged after median %v, max %v",
			len(answers), ms(median(resyncs)), ms(slices.Max(resyncs)), ms(median(answers)), ms(slices.Max(answers)))
		if m := slices.Max(answers); m > failoverGoal {
			t.Errorf("max fail-over %v, want within %v", m, failoverGoal)
		}
		tb.check()
	})
}

func natsDown(t *testing.T, bin, natsBin string, forwarded bool) {
	cl := newCluster(t, bin, natsBin)
	tb := newTable(t, cl, "e2e")
	tb.sit()
	tb.start()
	host := cl.hostOf(tb.name)
	for (tb.player(tb.acked.turn()).c.gw != host.name) != forwarded || tb.moves < 2 {
		tb.move()
	}
	mover := tb.player(tb.acked.turn())
	cl.nats.kill()
	down := time.Now()
	for _, g := range cl.gws {
		g.waitReadyz(http.StatusServiceUnavailable, "cluster_unavailable")
	}
	t.Logf("NATS killed: every /readyz says 503 cluster_unavailable after %v", time.Since(down).Round(time.Millisecond))
	mover.c.send(t, tb.frame("game.pass", "down", ""))
	if r := tb.await(mover, "down", time.Now().Add(e2eWait), "game.state"); r.code != "unavailable" {
		t.Fatalf("%s (host %s): a pass while NATS is down answered %+v, want unavailable", mover.c.name, host.name, r)
	}
	t.Logf("%s (the host is %s): a pass while NATS is down is answered unavailable after %v",
		mover.c.name, host.name, time.Since(down).Round(time.Millisecond))
	cl.startNATS()
	for _, g := range cl.gws {
		g.waitReady()
	}
	t.Logf("NATS back and every gateway ready again %v after the kill", time.Since(down).Round(time.Millisecond))
	for _, p := range tb.players {
		if done, code := p.c.closed(); done {
			t.Errorf("%s closed (%d) during the NATS outage, want it left open", p.c.name, code)
		}
	}
	// What does the table say now? (game.watch answers the state.)
	f := tb.request(mover, "game.watch", "game.state")
	if now := decodeState(t, f); now.key() != tb.acked.key() {
		t.Errorf("the pass answered unavailable while NATS was down was applied once NATS came back: "+
			"turn %d -> %d, passes %d -> %d", tb.acked.turn(), now.turn(), tb.acked.Passes, now.Passes)
		tb.ack(now) // play on from there
	}
	t.Logf("after the outage the table is hosted by %s", cl.hostOf(tb.name).name)
	tb.playHand()
	tb.check()
}

// killHost kills the table's host with SIGKILL between two moves; the
// players on it reconnect to survivors. It waits until everyone has the
// table again, then plays the next move, and returns the times from the
// kill to the first game.state resent (to a player whose socket survived)
// and to that move's acknowledgement.
func (tb *e2eTable) killHost() (resync, answer time.Duration, host *e2eGateway) {
	tb.t.Helper()
	host = tb.cl.hostOf(tb.name)
	killed := time.Now()
	host.kill9()
	for _, p := range tb.players {
		if p.c.gw == host.name {
			tb.reconnect(p)
		}
	}
	resync = tb.resynced(killed)
	tb.move()
	return resync, time.Since(killed), host
}

// goHome moves every player whose socket is not on its first gateway (a,
// b, c, a) back there: a new socket first, then the old one closed.
func (tb *e2eTable) goHome() {
	tb.t.Helper()
	for i, p := range tb.players {
		home := tb.cl.gws[i%len(tb.cl.gws)]
		if p.c.gw == home.name || !home.usable() {
			continue
		}
		old := p.c
		tb.open(p, home)
		old.conn.CloseNow()
	}
}

// moveOrDeal plays a move, or deals a new hand when none is being played
// (or the next move would end it).
func (tb *e2eTable) moveOrDeal() {
	tb.t.Helper()
	if tb.playing() {
		tb.move()
	}
	if !tb.playing() {
		tb.start()
	}
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

func median(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	return s[len(s)/2]
}
