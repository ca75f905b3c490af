package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bigtwo/gateway/gateway/room/bigtwo"
)

// The tables mode: -tables Big Two tables of four load-tool players, each
// its own session and socket. The four sit at one table (game.sit), one of
// them deals (game.start), and they play real, legal hands: every client
// keeps the latest game.state and game.hand it received and, on its turn,
// plays what it sees — the bot move (bigtwo.Game.BotMove) or a random legal
// play, even odds. A pacer gives each table -rate moves per second; the
// move goes out only once the previous one has reached all four members,
// so each table has at most one frame in flight. When a hand ends, its
// table deals again at once.
//
// A move's latency runs from just before it is written to when the last of
// the four members has read the game.state it caused, all on the load
// tool's clock. It counts as delivered when the mover got its answer
// (game.played or game.passed with the move's id) and all four got the
// state; lost is sent minus delivered. The four copies of each state are
// compared: they must be equal.

// tablesPerSource is how many tables share one loopback source address.
// The room runtime caps the room memberships that the players of one
// client address hold together (256 by default, not a setting), and each
// seated player holds one, so 10,000 players from 127.0.0.1 alone could
// never sit; 127.0.0.0/8 is all loopback, so the tool dials from
// 127.1.x.y instead, 200 players per address.
const tablesPerSource = 50

// tables runs the mode.
func (lg *loadgen) tables(ctx context.Context) (*summary, error) {
	t := lg.gateway()
	sum := lg.newSummary("tables", t)
	n := lg.cfg.Tables
	sum.Tables = n
	tokens := lg.createSessions(ctx, sum, t, 4*n)
	if len(tokens) != 4*n {
		return sum, fmt.Errorf("tables: only %d of %d sessions created", len(tokens), 4*n)
	}
	r := newTablesRun(lg, n)
	sum.Play = &r.out

	mt := &memTracker{p: lg.probe(t)}
	mt.before(ctx)
	f := lg.newFleet(ctx, len(tokens), nil)
	f.raw = r.onFrame
	r.f = f
	clients, addrs := sourceClients(lg, t, len(tokens))
	if clients != nil {
		f.clientFor = func(i int) *http.Client { return clients[i/(4*tablesPerSource)] }
		defer func() {
			for _, c := range clients {
				c.CloseIdleConnections()
			}
		}()
	}
	r.out.SourceAddrs = addrs
	cpu0 := sum.CPU.read()
	sum.Connect = f.connect(t.wsURL(), tokens)
	sum.CPU.phase("connect", cpu0, sum.Connect.Count, "socket connected")
	sum.Sockets = int(f.open.Load())
	mt.connected(ctx, f.open.Load)
	defer f.close()
	if sum.Sockets != len(tokens) {
		return sum, fmt.Errorf("tables: only %d of %d sockets open", sum.Sockets, len(tokens))
	}

	cpu0 = sum.CPU.read()
	err := r.sit(ctx)
	sum.CPU.phase("sit", cpu0, r.out.Sit.Count, "player seated")
	if err != nil {
		return sum, err
	}
	cpu0 = sum.CPU.read()
	err = r.dealAll(ctx)
	sum.CPU.phase("deal", cpu0, r.out.FirstDeal.Count, "first deal")
	if err != nil {
		return sum, err
	}
	mt.sample(ctx, "seated")

	start := time.Now()
	cpu0 = sum.CPU.read()
	dealer := r.startDealer()
	lg.pace(ctx, &r.moveRec, float64(n)*lg.cfg.Rate, lg.cfg.Duration, func(seq int64) error {
		return r.move(int(seq % int64(n)))
	}, r.status)
	elapsed := time.Since(start)
	dealer.stop()
	// Moves (and deals) still in flight get the grace period.
	waitFor(ctx, grace, func() bool { return r.inFlight() == 0 })
	r.finish(elapsed)
	sum.CPU.phase("play", cpu0, r.out.Move.Count, "move delivered")
	lg.finishHold(ctx, sum, f, mt, elapsed, "play")
	return sum, ctx.Err()
}

// sourceClients returns, when the gateway is on IPv4 loopback (or
// localhost, then dialed over IPv4), one HTTP client per tablesPerSource
// tables dialing from its own 127.1.x.y, and how many; nil otherwise
// (every socket then comes from one address).
func sourceClients(lg *loadgen, t target, sockets int) ([]*http.Client, int) {
	host, err := netip.ParseAddr(t.base.Hostname())
	loopback := err == nil && host.Is4() && host.IsLoopback() || t.base.Hostname() == "localhost"
	if !loopback {
		return nil, 1
	}
	per := 4 * tablesPerSource
	clients := make([]*http.Client, (sockets+per-1)/per)
	for k := range clients {
		ip := net.IPv4(127, 1, byte(k/250), byte(k%250+1))
		d := &net.Dialer{Timeout: lg.cfg.Timeout, LocalAddr: &net.TCPAddr{IP: ip}}
		clients[k] = &http.Client{Transport: &http.Transport{
			DialContext:           d.DialContext,
			ResponseHeaderTimeout: lg.cfg.Timeout,
		}}
	}
	return clients, len(clients)
}

// tablesPlay is what the tables mode measured besides connecting.
type tablesPlay struct {
	// Sit is game.sit -> game.seated.
	Sit *phase `json:"sit"`
	// FirstDeal is game.start -> the last member's game.state of the new
	// hand, for the first hand of every table (all dealt at once); Deal
	// the same for each deal after a game.over, during play.
	FirstDeal *phase `json:"first_deal"`
	Deal      *phase `json:"deal"`
	// Move is a play or pass -> the last of the table's four members
	// reading the game.state it caused. Sent is the moves sent, Count
	// those delivered, Lost the difference; Errors counts error frames
	// (moves the server refused) and failed writes.
	Move *phase `json:"move"`
	// Acked is the moves answered by game.played or game.passed.
	Acked int64 `json:"acked"`
	// Plays and Passes split Acked; BotMoves and RandomMoves split the
	// moves sent by how they were chosen.
	Plays       int64 `json:"plays"`
	Passes      int64 `json:"passes"`
	BotMoves    int64 `json:"bot_moves"`
	RandomMoves int64 `json:"random_moves"`
	// Hands is how many hands ended (game.over).
	Hands int64 `json:"hands"`
	// Skipped is the pacer's ticks that found their table still waiting
	// for a frame (the previous move or a deal): no move was sent.
	Skipped int64 `json:"skipped_ticks"`
	// Diverged counts moves whose four copies of the resulting
	// game.state differed: always 0 from a correct server.
	Diverged int64 `json:"diverged"`
	// SourceAddrs is how many client addresses the sockets came from.
	SourceAddrs int `json:"source_addrs"`
}

func (p *tablesPlay) writeText(w io.Writer) {
	p.Sit.writeRow(w, "sit", false)
	p.FirstDeal.writeRow(w, "deal 1st", false)
	p.Deal.writeRow(w, "deal", false)
	p.Move.writeRow(w, "move", true)
	fmt.Fprintf(w, "moves     %d acked (%d plays, %d passes; sent %d bot, %d random), %d hands, %d ticks skipped, %d diverged, from %d source addresses\n",
		p.Acked, p.Plays, p.Passes, p.BotMoves, p.RandomMoves, p.Hands, p.Skipped, p.Diverged, p.SourceAddrs)
}

// tablesRun is one run of the mode: the tables, and what the sockets'
// readers and the senders count. Its methods are safe for concurrent use.
type tablesRun struct {
	lg     *loadgen
	f      *fleet
	tables []*lgTable
	sitAt  []atomic.Int64 // stamp of socket i's game.sit

	sitRec, firstRec, dealRec, moveRec recorder
	seated, dealt                      atomic.Int64
	sent, acked, delivered             atomic.Int64
	plays, passes, hands               atomic.Int64
	bot, random, skipped               atomic.Int64
	diverged                           atomic.Int64

	// redeal holds tables whose hand has ended, for the dealer. A table
	// is in it at most once (it has a frame in flight until dealt), so
	// its size, the number of tables, means a send never blocks.
	redeal chan int
	out    tablesPlay
}

func newTablesRun(lg *loadgen, n int) *tablesRun {
	r := &tablesRun{lg: lg, tables: make([]*lgTable, n), sitAt: make([]atomic.Int64, 4*n), redeal: make(chan int, n)}
	for t := range r.tables {
		r.tables[t] = &lgTable{
			name:  fmt.Sprintf("lg-%d", t),
			first: 4 * t,
			rng:   rand.New(rand.NewPCG(uint64(t), uint64(lg.epoch.UnixNano()))),
		}
		for m := range r.tables[t].views {
			r.tables[t].views[m].seat = -1
		}
	}
	return r
}

// lgTable is one table as its four load-tool players see it.
type lgTable struct {
	name  string
	first int // the fleet index of member 0; members are first..first+3

	mu    sync.Mutex
	rng   *rand.Rand
	views [bigtwo.Seats]view
	fl    *inflight // the frame whose answers are awaited, nil when none
	seq   int64     // the last frame id's number
}

// inflight is a move or a deal on its way.
type inflight struct {
	deal    bool
	id      string
	mover   int // the member that sent it
	sentAt  time.Time
	acked   bool
	got     [bigtwo.Seats]bool // which members have read the resulting state
	n       int
	last    time.Time       // when the last of them read it
	data    json.RawMessage // the first copy of that state
	differ  bool
	waiting bool // the state ended the hand
}

// onFrame is every socket's reader's hook (the fleet's raw): b is frame
// as read by socket i at at.
func (r *tablesRun) onFrame(i int, b []byte, at time.Time) {
	tb := r.tables[i/4]
	m := i % 4
	// The gateway writes type first: the frequent frames are known by
	// their start and kept undecoded; the rest (and any other layout)
	// are decoded whole.
	switch {
	case hasPrefix(b, `{"type":"game.state"`):
		r.state(tb, m, b, at)
		return
	case hasPrefix(b, `{"type":"game.hand"`):
		tb.mu.Lock()
		tb.views[m].handRaw = b
		tb.mu.Unlock()
		return
	case hasPrefix(b, `{"type":"game.played","data"`), hasPrefix(b, `{"type":"game.passed","data"`):
		return // another seat's move (no id): the game.state after it says all
	}
	var fr tablesFrame
	if json.Unmarshal(b, &fr) != nil {
		return
	}
	switch fr.Type {
	case "game.seated":
		tb.mu.Lock()
		tb.views[m].seat = fr.Data.Seat
		tb.mu.Unlock()
		r.sitRec.add(r.lg.since(r.sitAt[i].Load(), at))
		r.seated.Add(1)
	case "game.hand":
		tb.mu.Lock()
		tb.views[m].handRaw = b
		tb.mu.Unlock()
	case "game.state":
		r.state(tb, m, b, at)
	case "game.played", "game.passed":
		tb.mu.Lock()
		if fl := tb.fl; fl != nil && !fl.deal && m == fl.mover && idIs(fr.ID, fl.id) && !fl.acked {
			fl.acked = true
			r.acked.Add(1)
			if fr.Type == "game.played" {
				r.plays.Add(1)
			} else {
				r.passes.Add(1)
			}
			r.completeLocked(tb)
		}
		tb.mu.Unlock()
	case "game.over":
		if m == 0 {
			r.hands.Add(1)
		}
	case "error":
		err := fmt.Errorf("error %s", fr.Data.Code)
		var id string
		_ = json.Unmarshal(fr.ID, &id)
		switch {
		case id == "sit":
			r.sitRec.fail(err)
		case len(id) > 0 && id[0] == 'f':
			r.firstRec.fail(err)
		case len(id) > 0 && id[0] == 'd':
			r.dealRec.fail(err)
		default:
			r.moveRec.fail(err)
		}
		tb.mu.Lock()
		if fl := tb.fl; fl != nil && m == fl.mover && id == fl.id {
			tb.fl = nil // refused: nothing else will come
		}
		tb.mu.Unlock()
	}
}

// state keeps the game.state frame b that member m read at at, and
// counts it for the frame in flight.
func (r *tablesRun) state(tb *lgTable, m int, b []byte, at time.Time) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.views[m].stateRaw = b
	fl := tb.fl
	if fl == nil || fl.got[m] || fl.deal && !bytes.Contains(b, []byte(`"status":"playing"`)) {
		return // no frame in flight, or (for a deal) a seat's state from before it
	}
	fl.got[m] = true
	fl.n++
	fl.last = at
	data := frameData(b)
	if fl.n == 1 {
		fl.data = data
	} else if !bytes.Equal(fl.data, data) {
		fl.differ = true
	}
	fl.waiting = bytes.Contains(b, []byte(`"status":"waiting"`))
	r.completeLocked(tb)
}

// completeLocked ends the frame in flight once every member has read its
// state (and, for a move, the mover has its answer).
func (r *tablesRun) completeLocked(tb *lgTable) {
	fl := tb.fl
	if fl.n < bigtwo.Seats || !fl.deal && !fl.acked {
		return
	}
	tb.fl = nil
	d := fl.last.Sub(fl.sentAt)
	if fl.differ {
		r.diverged.Add(1)
	}
	if fl.deal {
		r.dealRecorder(fl).add(d)
		r.dealt.Add(1)
		return
	}
	r.moveRec.add(d)
	r.delivered.Add(1)
	if fl.waiting {
		r.redeal <- tb.first / 4 // never blocks: see redeal
	}
}

// sit seats every player and waits until each table's four members have
// seen all four seats taken (so no state from the sitting is still on its
// way when the first deal goes out).
func (r *tablesRun) sit(ctx context.Context) error {
	n := len(r.sitAt)
	r.lg.setStatus(func() string { return fmt.Sprintf("sit: %d/%d seated", r.seated.Load(), n) })
	start := time.Now()
	parallel(ctx, n, r.lg.cfg.C, func(i int) {
		r.sitAt[i].Store(r.lg.stamp())
		b := fmt.Appendf(nil, `{"type":"game.sit","id":"sit","data":{"table":%q}}`, r.tables[i/4].name)
		if err := r.f.send(i, b); err != nil {
			r.sitRec.fail(err)
		}
	})
	ok := waitFor(ctx, r.lg.cfg.Timeout, func() bool { return r.seated.Load() == int64(n) && r.fullTables() == len(r.tables) })
	r.out.Sit = r.sitRec.phase(time.Since(start))
	if !ok {
		return fmt.Errorf("tables: %d of %d players seated, %d of %d tables full", r.seated.Load(), n, r.fullTables(), len(r.tables))
	}
	return nil
}

// fullTables counts the tables where every member has seen four seated.
func (r *tablesRun) fullTables() int {
	full := 0
	for _, tb := range r.tables {
		tb.mu.Lock()
		ok := true
		for m := range tb.views {
			v := &tb.views[m]
			v.current()
			ok = ok && v.seat >= 0 && v.seated == bigtwo.Seats
		}
		tb.mu.Unlock()
		if ok {
			full++
		}
	}
	return full
}

// dealAll deals the first hand at every table and waits for the deals.
func (r *tablesRun) dealAll(ctx context.Context) error {
	n := len(r.tables)
	r.lg.setStatus(func() string { return fmt.Sprintf("deal: %d/%d dealt", r.dealt.Load(), n) })
	start := time.Now()
	parallel(ctx, n, r.lg.cfg.C, func(t int) { r.deal(t, true) })
	ok := waitFor(ctx, r.lg.cfg.Timeout, func() bool { return r.dealt.Load() == int64(n) })
	r.out.FirstDeal = r.firstRec.phase(time.Since(start))
	if !ok {
		return fmt.Errorf("tables: %d of %d first deals arrived", r.dealt.Load(), n)
	}
	return nil
}

// dealRecorder is where deal fl is recorded.
func (r *tablesRun) dealRecorder(fl *inflight) *recorder {
	if fl.id[0] == 'f' {
		return &r.firstRec
	}
	return &r.dealRec
}

// deal sends game.start for table t from its member 0: the table's first
// deal (ids f1, f2, ...) or a later one (d1, ...).
func (r *tablesRun) deal(t int, first bool) {
	tb := r.tables[t]
	tb.mu.Lock()
	if tb.fl != nil {
		tb.mu.Unlock()
		return
	}
	tb.seq++
	prefix := "d"
	if first {
		prefix = "f"
	}
	fl := &inflight{deal: true, id: prefix + strconv.FormatInt(tb.seq, 10), sentAt: time.Now()}
	tb.fl = fl
	tb.mu.Unlock()
	b := fmt.Appendf(nil, `{"type":"game.start","id":%q,"data":{"table":%q,"bots":false}}`, fl.id, tb.name)
	if err := r.f.send(tb.first, b); err != nil {
		r.dealRecorder(fl).fail(err)
		tb.mu.Lock()
		if tb.fl == fl {
			tb.fl = nil
		}
		tb.mu.Unlock()
	}
}

// dealer deals again at every table whose hand ended, until stopped.
type dealer struct {
	stopc chan struct{}
	wg    sync.WaitGroup
}

// startDealer starts the dealer; the caller stops it.
func (r *tablesRun) startDealer() *dealer {
	d := &dealer{stopc: make(chan struct{})}
	d.wg.Go(func() {
		for {
			select {
			case <-d.stopc:
				return
			case t := <-r.redeal:
				r.deal(t, false)
			}
		}
	})
	return d
}

// stop stops the dealer and waits for it.
func (d *dealer) stop() {
	close(d.stopc)
	d.wg.Wait()
}

// move is one pacer tick of table t: the member whose turn it is plays
// what it sees, unless the table is still waiting for a frame.
func (r *tablesRun) move(t int) error {
	tb := r.tables[t]
	tb.mu.Lock()
	m := tb.moverLocked()
	if tb.fl != nil || m < 0 {
		tb.mu.Unlock()
		r.skipped.Add(1)
		return nil
	}
	v := &tb.views[m]
	g := v.game()
	var cards []bigtwo.Card
	if tb.rng.IntN(2) == 0 {
		cards = g.BotMove(v.seat)
		r.bot.Add(1)
	} else {
		cards = randomMove(g, v.seat, tb.rng)
		r.random.Add(1)
	}
	tb.seq++
	fl := &inflight{id: "m" + strconv.FormatInt(tb.seq, 10), mover: m, sentAt: time.Now()}
	tb.fl = fl
	tb.mu.Unlock()

	var b []byte
	if cards == nil {
		b = fmt.Appendf(nil, `{"type":"game.pass","id":%q,"data":{"table":%q}}`, fl.id, tb.name)
	} else {
		b = fmt.Appendf(nil, `{"type":"game.play","id":%q,"data":{"table":%q,"cards":[`, fl.id, tb.name)
		for k, c := range cards {
			if k > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, c.String())
		}
		b = append(b, "]}}"...)
	}
	err := r.f.send(tb.first+m, b)
	if err != nil {
		tb.mu.Lock()
		if tb.fl == fl {
			tb.fl = nil
		}
		tb.mu.Unlock()
		return err // the pacer records it
	}
	r.sent.Add(1)
	return nil
}

// inFlight counts the tables waiting for a frame.
func (r *tablesRun) inFlight() int {
	n := 0
	for _, tb := range r.tables {
		tb.mu.Lock()
		if tb.fl != nil {
			n++
		}
		tb.mu.Unlock()
	}
	return n
}

// status is the progress line during play.
func (r *tablesRun) status() string {
	return fmt.Sprintf("tables: %d open, %d moves delivered, %d hands, %d errors", r.f.open.Load(), r.delivered.Load(), r.hands.Load(), r.errors())
}

func (r *tablesRun) errors() int64 {
	_, failed := r.moveRec.counts()
	return failed
}

// finish fills in the summary of play, which lasted elapsed.
func (r *tablesRun) finish(elapsed time.Duration) {
	r.out.Deal = r.dealRec.phase(elapsed)
	r.out.Move = r.moveRec.phase(elapsed)
	r.out.Move.Sent = r.sent.Load()
	r.out.Move.Lost = max(0, r.sent.Load()-r.delivered.Load())
	r.out.Acked = r.acked.Load()
	r.out.Plays, r.out.Passes = r.plays.Load(), r.passes.Load()
	r.out.BotMoves, r.out.RandomMoves = r.bot.Load(), r.random.Load()
	r.out.Hands = r.hands.Load()
	r.out.Skipped = r.skipped.Load()
	r.out.Diverged = r.diverged.Load()
}
