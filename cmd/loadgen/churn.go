package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Churn: a population of clients that come and go, as players do. The
// number of clients ramps from -min up to -n at mid-run and back to -min
// at the end. Each client, in a loop: takes a session (a new one the first
// time and for 1 in 10 reconnects, else its own), opens a socket, joins a
// chat room, says something every 3–6 s, refreshes once over HTTP (POST
// /session/refresh) and then in band (auth.refresh with the new access
// token), leaves after 5–30 s, closes and reconnects. Every refusal is
// counted by what the gateway answered: HTTP status and code, close code,
// error frame.
const (
	churnNewSession = 10 // 1 in churnNewSession reconnects takes a new session
	churnStayMin    = 5 * time.Second
	churnStayMax    = 30 * time.Second
	churnChatMin    = 3 * time.Second
	churnChatMax    = 6 * time.Second
	churnRoomSize   = 10              // clients per chat room at the peak
	churnStartOver  = 5 * time.Second // the first clients start over it (a tenth of a short run)
	churnTick       = 250 * time.Millisecond
	churnBackoffMax = 30 * time.Second
)

// churnTarget is how many clients should run at elapsed of a run lasting
// d: lo at the start and end, hi at mid-run, linear in between.
func churnTarget(elapsed, d time.Duration, lo, hi int) int {
	if d <= 0 || elapsed <= 0 || elapsed >= d {
		return lo
	}
	f := float64(elapsed) / float64(d) * 2
	if f > 1 {
		f = 2 - f
	}
	return lo + int(f*float64(hi-lo)+0.5)
}

// churnStats is what a churn run counts.
type churnStats struct {
	MinClients  int `json:"min_clients"`
	PeakClients int `json:"peak_clients"`
	// PeakSockets is the most sockets open at once (welcomed, not closed).
	PeakSockets int64 `json:"peak_sockets"`
	// Refusals are requests and sockets the gateway turned down, by what
	// it answered: "POST /session 503 store_unavailable", "close 1013 store
	// unavailable", "auth.refresh error store_unavailable", ...
	Refusals map[string]int64 `json:"refusals"`
	// HTTP503 counts 503 answers, by endpoint.
	HTTP503 map[string]int64 `json:"http_503"`
	// StoreTimeouts counts every answer that says the store did not answer
	// in time: HTTP 503 store_unavailable, close 1013 "store unavailable",
	// error frames store_unavailable.
	StoreTimeouts int64 `json:"store_timeouts"`
	// ClientErrors are failures on the load tool's side (dial errors,
	// timeouts waiting for a frame), by kind.
	ClientErrors map[string]int64 `json:"client_errors,omitempty"`
	ChatsSent    int64            `json:"chats_sent"`
	ChatsRecv    int64            `json:"chats_received"`
}

// churner is one churn run's shared state.
type churner struct {
	lg      *loadgen
	t       target
	rooms   int
	open    atomic.Int64
	peak    atomic.Int64
	sent    atomic.Int64
	recv    atomic.Int64
	clients atomic.Int64

	sessions, connects, joins, refreshes, inband recorder

	mu        sync.Mutex
	refusals  map[string]int64
	http503   map[string]int64
	clientErr map[string]int64
	timeouts  int64
}

func (ch *churner) refused(what string, storeTimeout bool) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.refusals[what]++
	if storeTimeout {
		ch.timeouts++
	}
}

func (ch *churner) clientError(err error) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.clientErr[errorKind(err)]++
}

func (ch *churner) counts() (refusals, timeouts int64) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	for _, n := range ch.refusals {
		refusals += n
	}
	return refusals, ch.timeouts
}

// churn runs the clients for -duration.
func (lg *loadgen) churn(ctx context.Context) (*summary, error) {
	t := lg.gateway()
	sum := lg.newSummary("churn", t)
	lo, hi := lg.cfg.Min, lg.cfg.N
	ch := &churner{lg: lg, t: t, rooms: max(1, hi/churnRoomSize),
		refusals: map[string]int64{}, http503: map[string]int64{}, clientErr: map[string]int64{}}
	start := time.Now()
	cpu0 := sum.CPU.read()
	lg.setStatus(func() string {
		refused, timeouts := ch.counts()
		return fmt.Sprintf("churn: target %d, clients %d, sockets %d (peak %d), connects %d, refusals %d, store timeouts %d",
			churnTarget(time.Since(start), lg.cfg.Duration, lo, hi), ch.clients.Load(), ch.open.Load(), ch.peak.Load(),
			first(ch.connects.counts()), refused, timeouts)
	})

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var stops []chan struct{} // one per running client, newest last
	startClient := func(delay time.Duration) {
		stop := make(chan struct{})
		stops = append(stops, stop)
		ch.clients.Add(1)
		wg.Go(func() {
			defer ch.clients.Add(-1)
			ch.client(runCtx, delay, stop)
		})
	}
	startOver := max(time.Millisecond, min(churnStartOver, lg.cfg.Duration/10))
	for range lo {
		startClient(rand.N(startOver))
	}
	tick := time.NewTicker(churnTick)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case now := <-tick.C:
			el := now.Sub(start)
			if el >= lg.cfg.Duration {
				break loop
			}
			want := churnTarget(el, lg.cfg.Duration, lo, hi)
			for len(stops) < want {
				startClient(rand.N(churnTick))
			}
			for len(stops) > want { // the newest leave at the end of their stay
				close(stops[len(stops)-1])
				stops = stops[:len(stops)-1]
			}
		}
	}
	for _, s := range stops {
		close(s)
	}
	cancel()
	wg.Wait()
	elapsed := time.Since(start)

	sum.Sessions = ch.sessions.phase(elapsed)
	sum.Connect = ch.connects.phase(elapsed)
	sum.CPU.phase("churn", cpu0, sum.Connect.Count, "socket connected")
	sum.Join = ch.joins.phase(elapsed)
	sum.Refresh = ch.refreshes.phase(elapsed)
	sum.InBand = ch.inband.phase(elapsed)
	ch.mu.Lock()
	sum.Churn = &churnStats{
		MinClients: lo, PeakClients: hi, PeakSockets: ch.peak.Load(),
		Refusals: ch.refusals, HTTP503: ch.http503, StoreTimeouts: ch.timeouts, ClientErrors: ch.clientErr,
		ChatsSent: ch.sent.Load(), ChatsRecv: ch.recv.Load(),
	}
	ch.mu.Unlock()
	return sum, ctx.Err()
}

func first(a, _ int64) int64 { return a }

// creds is a client's session.
type creds struct {
	token, refresh string
}

// client runs one client until stop is closed (then it finishes its stay)
// or ctx ends (then it drops its socket at once). It starts after delay.
// After a failure it backs off exponentially (1 s, 2 s, ... 30 s, with
// jitter), as the web client does, and keeps its session unless the
// gateway said the session is no longer good (401, 4001).
func (ch *churner) client(ctx context.Context, delay time.Duration, stop <-chan struct{}) {
	if !pause(ctx, delay) {
		return
	}
	var c creds
	failures := 0
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		if ctx.Err() != nil {
			return
		}
		if c.token == "" || rand.N(churnNewSession) == 0 {
			var ok bool
			if c, ok = ch.newSession(ctx); !ok {
				failures++
				pause(ctx, backoff(failures))
				continue
			}
		}
		switch ch.visit(ctx, &c) {
		case visited:
			failures = 0
		case visitFailed:
			failures++
			pause(ctx, backoff(failures))
		case sessionLost:
			c = creds{}
			failures++
			pause(ctx, backoff(failures))
		}
	}
}

// backoff is the pause after the nth failure in a row: 1 s doubling up to
// 30 s, each drawn from [d/2, d).
func backoff(n int) time.Duration {
	d := min(churnBackoffMax, time.Second<<min(max(n-1, 0), 5))
	return d/2 + rand.N(d/2)
}

// visitResult is how a visit ended.
type visitResult int

const (
	visited     visitResult = iota // stayed and left
	visitFailed                    // refused or cut short; the session is still good
	sessionLost                    // the gateway refused the session: take a new one
)

// pause waits d, or less if ctx ends; it reports whether ctx is still live.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// newSession creates a session (a new player).
func (ch *churner) newSession(ctx context.Context) (creds, bool) {
	t0 := time.Now()
	c, err := ch.post(ctx, "POST /session", "/session", nil)
	if err != nil {
		ch.sessions.fail(err)
		return creds{}, false
	}
	ch.sessions.add(time.Since(t0))
	return c, true
}

// refusal is an HTTP answer that is not the expected success.
type refusal struct {
	endpoint string
	status   int
	code     string
}

func (r *refusal) Error() string { return fmt.Sprintf("%s %d %s", r.endpoint, r.status, r.code) }

// post sends a POST with body (nil for none) and decodes a session body.
// A refusal is counted and returned as a *refusal.
func (ch *churner) post(ctx context.Context, endpoint, path string, body []byte) (creds, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ch.t.url(path), rd)
	if err != nil {
		return creds{}, err
	}
	resp, err := ch.lg.http.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			ch.clientError(err)
		}
		return creds{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		r := &refusal{endpoint: endpoint, status: resp.StatusCode, code: e.Error.Code}
		ch.refused(r.Error(), e.Error.Code == "store_unavailable")
		if resp.StatusCode == http.StatusServiceUnavailable {
			ch.mu.Lock()
			ch.http503[endpoint]++
			ch.mu.Unlock()
		}
		return creds{}, r
	}
	var s struct {
		Token        string `json:"token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(b, &s); err != nil || s.Token == "" {
		return creds{}, fmt.Errorf("%s: no token in the answer", endpoint)
	}
	return creds{token: s.Token, refresh: s.RefreshToken}, nil
}

// visit is one stay: connect, join, chat, refresh twice, leave.
func (ch *churner) visit(ctx context.Context, c *creds) visitResult {
	t0 := time.Now()
	ws, err := ch.lg.dial(ctx, ch.lg.ws, ch.t.wsURL(), c.token)
	if err != nil {
		ch.connects.fail(err)
		ch.socketRefused("connect", err, ctx)
		if isClose(err, 4001) {
			return sessionLost
		}
		return visitFailed
	}
	ch.connects.add(time.Since(t0))
	if n := ch.open.Add(1); n > ch.peak.Load() {
		ch.peak.Store(n) // racy max: good enough for a progress figure
	}
	defer ch.open.Add(-1)

	frames := make(chan frame, 16)
	readErr := make(chan error, 1)
	go func() { // ends when ws is closed, below
		for {
			_, b, err := ws.Read(context.Background())
			if err != nil {
				readErr <- err
				close(frames)
				return
			}
			var f frame
			if json.Unmarshal(b, &f) != nil {
				continue
			}
			switch f.Type {
			case "room.message":
				ch.recv.Add(1)
			case "room.joined", "auth.refreshed", "error": // what request waits for
				select {
				case frames <- f:
				default: // nobody waits for it
				}
			}
		}
	}()
	defer func() {
		_ = ws.CloseNow()
		for range frames {
		}
		if err := <-readErr; ctx.Err() == nil && websocket.CloseStatus(err) != -1 &&
			websocket.CloseStatus(err) != websocket.StatusNormalClosure {
			ch.socketRefused("socket", err, ctx)
		}
	}()

	room := fmt.Sprintf("churn-%d", rand.N(ch.rooms))
	t0 = time.Now()
	if !ch.request(ctx, ws, frames, fmt.Sprintf(`{"type":"room.join","id":"j","data":{"room":%q}}`, room), "room.joined", &ch.joins) {
		return visitFailed
	}
	ch.joins.add(time.Since(t0))

	stay := churnStayMin + rand.N(churnStayMax-churnStayMin)
	end := time.Now().Add(stay)
	refreshAt := time.Now().Add(time.Second + rand.N(stay-2*time.Second))
	refreshed := false
	for {
		next := time.Now().Add(churnChatMin + rand.N(churnChatMax-churnChatMin))
		if !refreshed && refreshAt.Before(next) {
			next = refreshAt
		}
		if end.Before(next) {
			next = end
		}
		if !pause(ctx, time.Until(next)) {
			return visited
		}
		switch {
		case !time.Now().Before(end):
			_ = ch.send(ctx, ws, fmt.Sprintf(`{"type":"room.leave","data":{"room":%q}}`, room))
			_ = ws.Close(websocket.StatusNormalClosure, "leaving")
			return visited
		case !refreshed && !time.Now().Before(refreshAt):
			refreshed = true
			if !ch.refresh(ctx, ws, frames, c) {
				return sessionLost
			}
		default:
			if ch.send(ctx, ws, fmt.Sprintf(`{"type":"room.say","data":{"room":%q,"text":"hello"}}`, room)) != nil {
				return visitFailed
			}
			ch.sent.Add(1)
		}
	}
}

// refresh rotates c over HTTP, then presents the new access token in band.
func (ch *churner) refresh(ctx context.Context, ws *websocket.Conn, frames <-chan frame, c *creds) bool {
	body, _ := json.Marshal(map[string]string{"refresh_token": c.refresh})
	t0 := time.Now()
	next, err := ch.post(ctx, "POST /session/refresh", "/session/refresh", body)
	if err != nil {
		ch.refreshes.fail(err)
		var r *refusal
		return !errors.As(err, &r) || r.status != http.StatusUnauthorized
	}
	ch.refreshes.add(time.Since(t0))
	*c = next
	t0 = time.Now()
	if ch.request(ctx, ws, frames, fmt.Sprintf(`{"type":"auth.refresh","id":"r","data":{"token":%q}}`, c.token), "auth.refreshed", &ch.inband) {
		ch.inband.add(time.Since(t0))
	}
	return true
}

// send writes one frame.
func (ch *churner) send(ctx context.Context, ws *websocket.Conn, s string) error {
	ctx, cancel := context.WithTimeout(ctx, ch.lg.cfg.Timeout)
	defer cancel()
	return ws.Write(ctx, websocket.MessageText, []byte(s))
}

// request sends s and waits for a frame of type want, recording failures
// in rec (an error frame is a refusal).
func (ch *churner) request(ctx context.Context, ws *websocket.Conn, frames <-chan frame, s, want string, rec *recorder) bool {
	if err := ch.send(ctx, ws, s); err != nil {
		rec.fail(err)
		return false
	}
	timeout := time.NewTimer(ch.lg.cfg.Timeout)
	defer timeout.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timeout.C:
			rec.fail(fmt.Errorf("no %s: %w", want, errLost))
			ch.clientError(fmt.Errorf("no %s: %w", want, errLost))
			return false
		case f, ok := <-frames:
			if !ok {
				rec.fail(errors.New("socket closed"))
				return false
			}
			switch f.Type {
			case want:
				return true
			case "error":
				var d struct{ Code string }
				_ = json.Unmarshal(f.Data, &d)
				rec.fail(fmt.Errorf("error frame %s", d.Code))
				typ := want
				if want == "auth.refreshed" {
					typ = "auth.refresh"
				}
				ch.refused(typ+" error "+d.Code, d.Code == "store_unavailable")
				return false
			}
		}
	}
}

// socketRefused counts a socket the gateway refused or closed: an HTTP
// status before the upgrade, or a close code.
func (ch *churner) socketRefused(what string, err error, ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	var se statusError
	var ce websocket.CloseError
	switch {
	case errors.As(err, &ce):
		ch.refused(fmt.Sprintf("%s close %d %s", what, ce.Code, ce.Reason), ce.Code == websocket.StatusTryAgainLater && ce.Reason == "store unavailable")
	case errors.As(err, &se):
		ch.refused(fmt.Sprintf("%s http %d", what, int(se)), false)
		if int(se) == http.StatusServiceUnavailable {
			ch.mu.Lock()
			ch.http503["GET /ws"]++
			ch.mu.Unlock()
		}
	default:
		ch.clientError(err)
	}
}

// isClose reports whether err is a close with code.
func isClose(err error, code websocket.StatusCode) bool { return websocket.CloseStatus(err) == code }
