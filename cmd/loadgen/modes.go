package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// grace is how long frames still in flight when sending stops may take
// before they count as lost.
const grace = 5 * time.Second

func (lg *loadgen) newSummary(mode string, t target) *summary {
	return &summary{Mode: mode, Target: t.base.String(), Started: time.Now().UTC().Truncate(time.Second),
		CPU: newCPUStats(t), pidErr: t.pidErr}
}

// gateway is the target of -url, with the pid of -pid, else that of the
// process listening on its port when it is on this machine.
func (lg *loadgen) gateway() target {
	t := target{base: lg.cfg.URL, pid: lg.cfg.PID, pidFrom: "-pid"}
	if t.pid == 0 {
		port := t.base.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[t.base.Scheme]
		}
		t.pid, t.pidFrom, t.pidErr = findPID(t.base.Hostname(), port)
	}
	return t
}

// sessions measures POST /session: -n requests, -c at a time.
func (lg *loadgen) sessions(ctx context.Context) (*summary, error) {
	t := lg.gateway()
	sum := lg.newSummary("sessions", t)
	lg.createSessions(ctx, sum, t, lg.cfg.N)
	if sum.Sessions.ErrorKinds["http 429"] > 0 {
		sum.Notes = append(sum.Notes, "429s: run the gateway with GATEWAY_SESSION_RATE=off for a load test")
	}
	return sum, ctx.Err()
}

// connect opens -n sockets and holds them, after the baseline with -baseline.
func (lg *loadgen) connect(ctx context.Context) (*summary, error) {
	t := lg.gateway()
	sum := lg.newSummary("connect", t)
	if lg.cfg.Baseline {
		b, err := lg.baseline(ctx)
		sum.Baseline = b
		if err != nil {
			return sum, fmt.Errorf("baseline: %w", err)
		}
	}
	tokens := lg.createSessions(ctx, sum, t, lg.cfg.N)
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	err := lg.connectHold(ctx, sum, t, tokens)
	if b := sum.Baseline; b != nil && b.Connect != nil && b.Connect.Rate > 0 && sum.Connect != nil {
		sum.ConnectVsBaseline = float64(int(sum.Connect.Rate/b.Connect.Rate*100)) / 100
	}
	return sum, err
}

// connectHold opens a socket per token, holds them for -duration and
// measures the target's memory before, once connected, during the hold
// (5 s after all are open, then every -sample) and at the end. With
// -burst, the burst runs after the reading at 5 s (at the end of a
// shorter hold). The hold's CPU leaves out the memory readings and the
// burst.
func (lg *loadgen) connectHold(ctx context.Context, sum *summary, t target, tokens []string) error {
	f, mt := lg.openFleet(ctx, sum, t, tokens, nil)
	defer f.close()
	d := lg.cfg.Duration
	start := time.Now()
	status := func() { f.holdStatus("hold", start.Add(d)) }
	status()
	var hold cpuSpan
	from := sum.CPU.read()
	pause := func() { hold.add(from, sum.CPU.read()) } // around what is not the hold
	resume := func() { from = sum.CPU.read() }
	burstDue := lg.cfg.Burst > 0
	burst := func() {
		burstDue = false
		sum.Burst = lg.burst(ctx, sum, f, t.wsURL(), tokens, lg.cfg.Burst, time.Since(start))
		status()
	}
	for _, p := range holdPoints(d, lg.cfg.Sample) {
		if !waitUntil(ctx, start.Add(p)) {
			break
		}
		pause()
		mt.sample(ctx, holdLabel(p))
		if burstDue && p >= settle {
			burst()
		}
		resume()
	}
	if waitUntil(ctx, start.Add(d)) && burstDue {
		pause()
		burst()
		resume()
	}
	pause()
	sum.CPU.record("hold", hold, f.open.Load(), "socket held")
	lg.finishHold(ctx, sum, f, mt, time.Since(start), "hold")
	return ctx.Err()
}

// openFleet measures the target's memory, then opens a socket per token
// (onFrame sees every frame they receive) and measures it again. The caller
// closes the fleet.
func (lg *loadgen) openFleet(ctx context.Context, sum *summary, t target, tokens []string, onFrame func(int, frame, time.Time)) (*fleet, *memTracker) {
	mt := &memTracker{p: lg.probe(t)}
	mt.before(ctx)
	f := lg.newFleet(ctx, len(tokens), onFrame)
	cpu0 := sum.CPU.read()
	sum.Connect = f.connect(t.wsURL(), tokens)
	sum.CPU.phase("connect", cpu0, sum.Connect.Count, "socket connected")
	sum.Sockets = int(f.open.Load())
	mt.connected(ctx, f.open.Load)
	return f, mt
}

// finishHold takes the target's last memory reading, after what ("hold",
// "play", ...), and records the hold of f, which lasted elapsed.
func (lg *loadgen) finishHold(ctx context.Context, sum *summary, f *fleet, mt *memTracker, elapsed time.Duration, what string) {
	mt.end(ctx, what)
	sum.Hold = f.holdPhase(elapsed)
	mt.finish(sum, sum.Sockets)
}

// deliveries gives frames still in flight the grace period to arrive, then
// returns rec's phase with sent and lost (want minus got) filled in.
func deliveries(ctx context.Context, rec *recorder, elapsed time.Duration, sent, want int64, got *atomic.Int64) *phase {
	waitFor(ctx, grace, func() bool { return got.Load() >= want })
	p := rec.phase(elapsed)
	p.Sent = sent
	p.Lost = max(0, want-got.Load())
	return p
}

// ping holds -n sockets and sends -rate pings per second among them,
// round robin, measuring ping -> pong.
func (lg *loadgen) ping(ctx context.Context) (*summary, error) {
	t := lg.gateway()
	sum := lg.newSummary("ping", t)
	tokens := lg.createSessions(ctx, sum, t, lg.cfg.N)
	if perSocket := lg.cfg.Rate / float64(max(len(tokens), 1)); perSocket > 40 {
		sum.Notes = append(sum.Notes, fmt.Sprintf("%.0f pings/s per socket is near the gateway's message rate limit (50/s by default)", perSocket))
	}
	var rec recorder
	var recv atomic.Int64
	onFrame := func(_ int, fr frame, at time.Time) {
		if fr.Type != "pong" {
			return
		}
		var id string
		if json.Unmarshal(fr.ID, &id) != nil {
			return
		}
		if stamp, err := strconv.ParseInt(id, 10, 64); err == nil {
			rec.add(lg.since(stamp, at))
			recv.Add(1)
		}
	}
	f, mt := lg.openFleet(ctx, sum, t, tokens, onFrame)
	defer f.close()

	open := openIndexes(f)
	if len(open) == 0 {
		return sum, errors.New("no socket open")
	}
	start := time.Now()
	cpu0 := sum.CPU.read()
	sent := lg.pace(ctx, &rec, lg.cfg.Rate, lg.cfg.Duration, func(seq int64) error {
		i := open[int(seq%int64(len(open)))]
		return f.send(i, fmt.Appendf(nil, `{"type":"ping","id":"%d"}`, lg.stamp()))
	}, func() string {
		return fmt.Sprintf("ping: %d open, %d pongs", f.open.Load(), recv.Load())
	})
	elapsed := time.Since(start)
	sum.Ping = deliveries(ctx, &rec, elapsed, sent, sent, &recv)
	sum.CPU.phase("ping", cpu0, sum.Ping.Count, "round trip")
	lg.finishHold(ctx, sum, f, mt, elapsed, "pings")
	return sum, ctx.Err()
}

// rooms seats 4 × -tables sockets at tables of four (room.join), then each
// table sends -rate game frames per second, from its players in turn, and
// every other member's receipt is a delivery.
func (lg *loadgen) rooms(ctx context.Context) (*summary, error) {
	t := lg.gateway()
	sum := lg.newSummary("rooms", t)
	tables := lg.cfg.Tables
	sum.Tables = tables
	tokens := lg.createSessions(ctx, sum, t, 4*tables)
	if len(tokens) != 4*tables {
		return sum, fmt.Errorf("rooms: only %d of %d sessions created", len(tokens), 4*tables)
	}
	joinAt := make([]atomic.Int64, len(tokens))
	var joinRec, delivRec recorder
	var joined, delivered atomic.Int64
	onFrame := func(i int, fr frame, at time.Time) {
		switch fr.Type {
		case "room.joined":
			joinRec.add(lg.since(joinAt[i].Load(), at))
			joined.Add(1)
		case "room.relay":
			var d struct {
				Data struct {
					TS int64 `json:"ts"`
				} `json:"data"`
			}
			if json.Unmarshal(fr.Data, &d) == nil {
				d := d.Data
				delivRec.add(lg.since(d.TS, at))
				delivered.Add(1)
			}
		case "error":
			delivRec.fail(fmt.Errorf("error frame %s", fr.Data))
		}
	}
	f, mt := lg.openFleet(ctx, sum, t, tokens, onFrame)
	defer f.close()
	if sum.Sockets != len(tokens) {
		return sum, fmt.Errorf("rooms: only %d of %d sockets open", sum.Sockets, len(tokens))
	}

	lg.setStatus(func() string { return fmt.Sprintf("join: %d/%d seated", joined.Load(), len(tokens)) })
	start := time.Now()
	cpu0 := sum.CPU.read()
	parallel(ctx, len(tokens), lg.cfg.C, func(i int) {
		joinAt[i].Store(lg.stamp())
		if err := f.send(i, fmt.Appendf(nil, `{"type":"room.join","data":{"room":"lg-%d"}}`, i/4)); err != nil {
			joinRec.fail(err)
		}
	})
	if !waitFor(ctx, lg.cfg.Timeout, func() bool { return joined.Load() == int64(len(tokens)) }) {
		joinRec.fail(fmt.Errorf("%d joins unanswered: %w", int64(len(tokens))-joined.Load(), errLost))
	}
	sum.Join = joinRec.phase(time.Since(start))
	sum.CPU.phase("join", cpu0, sum.Join.Count, "join")

	start = time.Now()
	cpu0 = sum.CPU.read()
	sent := lg.pace(ctx, &delivRec, float64(tables)*lg.cfg.Rate, lg.cfg.Duration, func(seq int64) error {
		table := seq % int64(tables)
		player := table*4 + (seq/int64(tables))%4
		return f.send(int(player), fmt.Appendf(nil, `{"type":"room.relay","data":{"room":"lg-%d","data":{"ts":%d}}}`, table, lg.stamp()))
	}, func() string {
		return fmt.Sprintf("rooms: %d open, %d delivered", f.open.Load(), delivered.Load())
	})
	elapsed := time.Since(start)
	sum.Delivery = deliveries(ctx, &delivRec, elapsed, sent, 3*sent, &delivered)
	sum.CPU.phase("relay", cpu0, sent, "frame sent (to 3)")
	lg.finishHold(ctx, sum, f, mt, elapsed, "relay")
	return sum, ctx.Err()
}

// openIndexes lists the sockets of f that connected.
func openIndexes(f *fleet) []int {
	var out []int
	for i, ws := range f.socks {
		if ws != nil {
			out = append(out, i)
		}
	}
	return slices.Clip(out)
}

// senders is how many goroutines write paced frames, so that one slow
// socket does not hold up the others.
const senders = 16

// pace calls job(seq) for seq = 0, 1, ... at rate per second for d (or
// until ctx ends), on a few sender goroutines, records failures in rec,
// and returns how many succeeded. When the senders fall behind, pacing
// blocks: the achieved rate shows in the summary.
func (lg *loadgen) pace(ctx context.Context, rec *recorder, rate float64, d time.Duration, job func(seq int64) error, status func() string) int64 {
	var sent atomic.Int64
	lg.setStatus(func() string { return fmt.Sprintf("%s, %d sent", status(), sent.Load()) })
	// jobs holds up to a second of work; a full queue blocks the pacer.
	jobs := make(chan int64, max(int(rate), 1))
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for seq := range jobs {
				if err := job(seq); err != nil {
					rec.fail(err)
					continue
				}
				sent.Add(1)
			}
		})
	}
	issue(ctx, jobs, rate, d)
	close(jobs)
	wg.Wait()
	return sent.Load()
}

// issue sends seq = 0, 1, ... to jobs at rate per second for d or until
// ctx ends.
func issue(ctx context.Context, jobs chan<- int64, rate float64, d time.Duration) {
	start := time.Now()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	var issued int64
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			el := min(now.Sub(start), d)
			for due := int64(rate * el.Seconds()); issued < due; issued++ {
				select {
				case jobs <- issued:
				case <-ctx.Done():
					return
				}
			}
			if el == d {
				return
			}
		}
	}
}
