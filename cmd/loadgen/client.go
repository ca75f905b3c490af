package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// loadgen holds what every mode shares: the configuration, the HTTP
// clients, the progress line and the clock frames are stamped with.
type loadgen struct {
	cfg    config
	stderr io.Writer
	// http serves POST /session and /metrics; ws the upgrades (separate
	// so that hijacked connections never touch the session pool).
	http *http.Client
	ws   *http.Client
	// epoch is the zero of the timestamps carried in frames: monotonic,
	// so a wall-clock step cannot skew a latency.
	epoch time.Time
	// status renders the progress line; swapped as phases change.
	status atomic.Pointer[func() string]
}

func newLoadgen(cfg config, stderr io.Writer) *loadgen {
	dialer := &net.Dialer{Timeout: cfg.Timeout}
	return &loadgen{
		cfg:    cfg,
		stderr: stderr,
		http: &http.Client{Timeout: cfg.Timeout, Transport: &http.Transport{
			DialContext:         dialer.DialContext,
			MaxIdleConns:        2 * cfg.C,
			MaxIdleConnsPerHost: 2 * cfg.C,
			IdleConnTimeout:     30 * time.Second,
		}},
		ws: &http.Client{Transport: &http.Transport{
			DialContext:           dialer.DialContext,
			ResponseHeaderTimeout: cfg.Timeout,
		}},
		epoch: time.Now(),
	}
}

// closeIdle releases the keep-alive connections of the HTTP clients.
func (lg *loadgen) closeIdle() {
	lg.http.CloseIdleConnections()
	lg.ws.CloseIdleConnections()
}

// stamp is now as nanoseconds since epoch, for a frame to carry.
func (lg *loadgen) stamp() int64 { return int64(time.Since(lg.epoch)) }

// since is the time elapsed from a stamp to at.
func (lg *loadgen) since(stamp int64, at time.Time) time.Duration {
	return at.Sub(lg.epoch) - time.Duration(stamp)
}

// setStatus makes f the progress line of the current phase.
func (lg *loadgen) setStatus(f func() string) { lg.status.Store(&f) }

// progress prints the status line to stderr every second until ctx ends.
// The caller waits for it to return.
func (lg *loadgen) progress(ctx context.Context) {
	start := time.Now()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if f := lg.status.Load(); f != nil {
				fmt.Fprintf(lg.stderr, "[%6.1fs] %s\n", now.Sub(start).Seconds(), (*f)())
			}
		}
	}
}

// withProgress runs f while the progress line prints.
func (lg *loadgen) withProgress(ctx context.Context, f func(ctx context.Context) (*summary, error)) (*summary, error) {
	pctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { lg.progress(pctx) })
	defer wg.Wait()
	defer cancel()
	return f(ctx)
}

// target is a server to measure: its base URL and, if known, its pid,
// how it was found ("-pid", "listening on port 8080", "baseline child"),
// or why it is not known.
type target struct {
	base    *url.URL
	pid     int
	pidFrom string
	pidErr  error
}

func (t target) wsURL() string {
	u := *t.base
	u.Scheme = "ws"
	if t.base.Scheme == "https" {
		u.Scheme = "wss"
	}
	u.Path += "/ws"
	return u.String()
}

func (t target) url(path string) string {
	u := *t.base
	u.Path += path
	return u.String()
}

// probe reads t's memory.
func (lg *loadgen) probe(t target) probe {
	return probe{client: lg.http, metricsURL: t.url("/metrics"), pid: t.pid}
}

// parallel runs f(i) for i in [0, n) on at most c goroutines and returns
// when all are done or ctx has ended.
func parallel(ctx context.Context, n, c int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(c, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}

// createSessions posts n anonymous sessions, c at a time, records the
// phase and its CPU in sum and returns the access tokens of those created.
func (lg *loadgen) createSessions(ctx context.Context, sum *summary, t target, n int) []string {
	var rec recorder
	tokens := make([]string, n)
	lg.setStatus(func() string {
		ok, failed := rec.counts()
		return fmt.Sprintf("sessions: %d/%d created, %d errors", ok, n, failed)
	})
	start := time.Now()
	cpu0 := sum.CPU.read()
	parallel(ctx, n, lg.cfg.C, func(i int) {
		t0 := time.Now()
		tok, err := lg.postSession(ctx, t)
		if err != nil {
			rec.fail(err)
			return
		}
		rec.add(time.Since(t0))
		tokens[i] = tok
	})
	sum.Sessions = rec.phase(time.Since(start))
	sum.CPU.phase("sessions", cpu0, sum.Sessions.Count, "session")
	out := tokens[:0]
	for _, tok := range tokens {
		if tok != "" {
			out = append(out, tok)
		}
	}
	return out
}

// postSession creates one anonymous session and returns its access token.
func (lg *loadgen) postSession(ctx context.Context, t target) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url("/session"), nil)
	if err != nil {
		return "", fmt.Errorf("post session: %w", err)
	}
	resp, err := lg.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("post session: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		_, _ = io.Copy(io.Discard, resp.Body)
		return "", fmt.Errorf("post session: %w", statusError(resp.StatusCode))
	}
	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Token == "" {
		return "", fmt.Errorf("post session: no token in the answer: %w", err)
	}
	return body.Token, nil
}

// frame is a received frame, decoded.
type frame struct {
	Type string          `json:"type"`
	ID   json.RawMessage `json:"id"`
	Data json.RawMessage `json:"data"`
}

// dial opens one socket through client, authenticated as -auth says (the
// Authorization header by default), and waits for its welcome frame.
func (lg *loadgen) dial(ctx context.Context, client *http.Client, wsURL, token string) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, lg.cfg.Timeout)
	defer cancel()
	opts := &websocket.DialOptions{HTTPClient: client, HTTPHeader: http.Header{}}
	switch lg.cfg.Auth {
	case authSubprotocol:
		opts.Subprotocols = []string{"bigtwo.v1", "bearer." + token}
	case authQuery:
		wsURL += "?token=" + url.QueryEscape(token)
	case authFrame:
	default:
		opts.HTTPHeader.Set("Authorization", "Bearer "+token)
	}
	ws, resp, err := websocket.Dial(ctx, wsURL, opts)
	if err == nil && lg.cfg.Auth == authFrame {
		auth, _ := json.Marshal(map[string]any{"type": "auth", "data": map[string]string{"token": token}})
		if err = ws.Write(ctx, websocket.MessageText, auth); err != nil {
			ws.CloseNow()
			return nil, fmt.Errorf("auth frame: %w", err)
		}
	}
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, fmt.Errorf("dial: %w", newRefusedUpgrade(resp))
		}
		return nil, fmt.Errorf("dial: %w", err)
	}
	_, b, err := ws.Read(ctx)
	if err != nil {
		ws.CloseNow()
		return nil, fmt.Errorf("welcome: %w", err)
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil || f.Type != "welcome" {
		ws.CloseNow()
		return nil, fmt.Errorf("welcome: first frame is %.40q", b)
	}
	return ws, nil
}

// The -auth values: how a socket presents its token.
const (
	authHeader      = "header"
	authFrame       = "frame"
	authSubprotocol = "subprotocol"
	authQuery       = "query"
)

// refusedUpgrade is an upgrade the server answered with an HTTP error: its
// status and the code of its JSON error body, if any. It unwraps to the
// statusError.
type refusedUpgrade struct {
	status int
	code   string
}

// newRefusedUpgrade reads the error code from resp's body (of which
// websocket.Dial keeps the first 1024 bytes).
func newRefusedUpgrade(resp *http.Response) *refusedUpgrade {
	e := &refusedUpgrade{status: resp.StatusCode}
	if resp.Body != nil {
		var body struct {
			Error struct{ Code string } `json:"error"`
		}
		if json.NewDecoder(resp.Body).Decode(&body) == nil {
			e.code = body.Error.Code
		}
	}
	return e
}

func (e *refusedUpgrade) Error() string {
	return strings.TrimSpace(fmt.Sprintf("upgrade refused: HTTP %d %s", e.status, e.code))
}

func (e *refusedUpgrade) Unwrap() error { return statusError(e.status) }

// fleet is a set of held sockets, each with one goroutine reading it (which
// also answers the server's pings). Close stops and awaits the readers.
type fleet struct {
	lg      *loadgen
	socks   []*websocket.Conn // nil where the connect failed
	onFrame func(i int, f frame, at time.Time)
	// clientFor, when set before connect, is the HTTP client that dials
	// socket i (the tables mode spreads its sockets over source
	// addresses); else every socket dials through lg.ws.
	clientFor func(i int) *http.Client
	// raw, when set before connect, sees every frame after the welcome
	// as read, in place of onFrame (the tables mode decodes each frame
	// once, into its own type).
	raw func(i int, b []byte, at time.Time)
	// ctx bounds the readers; cancel ends them at once.
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	open    atomic.Int64
	closing atomic.Bool
	dropped recorder // sockets that ended while held
	// retired holds the sockets the tool closed on purpose during the
	// hold (a burst): their end is not a drop.
	mu      sync.Mutex
	retired map[*websocket.Conn]bool
}

// newFleet makes an empty fleet of n; onFrame (may be nil) sees every frame
// after the welcome, from the socket's reader goroutine.
func (lg *loadgen) newFleet(ctx context.Context, n int, onFrame func(i int, f frame, at time.Time)) *fleet {
	ctx, cancel := context.WithCancel(ctx)
	return &fleet{lg: lg, socks: make([]*websocket.Conn, n), onFrame: onFrame, ctx: ctx, cancel: cancel}
}

// connect opens socket i for every token, c at a time, and records the
// connect + auth latency (dial until welcome).
func (f *fleet) connect(wsURL string, tokens []string) *phase {
	var rec recorder
	n := len(tokens)
	f.lg.setStatus(func() string {
		ok, failed := rec.counts()
		return fmt.Sprintf("connect: %d/%d open, %d errors", ok, n, failed)
	})
	start := time.Now()
	parallel(f.ctx, n, f.lg.cfg.C, func(i int) {
		client := f.lg.ws
		if f.clientFor != nil {
			client = f.clientFor(i)
		}
		t0 := time.Now()
		ws, err := f.lg.dial(f.ctx, client, wsURL, tokens[i])
		if err != nil {
			rec.fail(err)
			return
		}
		rec.add(time.Since(t0))
		f.adopt(i, ws)
	})
	return rec.phase(time.Since(start))
}

// read reads socket i until it ends.
func (f *fleet) read(i int, ws *websocket.Conn) {
	defer f.open.Add(-1)
	for {
		_, b, err := ws.Read(f.ctx)
		at := time.Now()
		if err != nil {
			if !f.closing.Load() && !f.isRetired(ws) {
				f.dropped.fail(err)
			}
			return
		}
		if f.raw != nil {
			f.raw(i, b, at)
			continue
		}
		if f.onFrame == nil {
			continue
		}
		var fr frame
		if json.Unmarshal(b, &fr) == nil {
			f.onFrame(i, fr, at)
		}
	}
}

// retire closes socket i (close 1000 with reason, waiting for the
// server's answer) without counting it as dropped, and forgets it.
func (f *fleet) retire(i int, reason string) error {
	ws := f.socks[i]
	f.mu.Lock()
	if f.retired == nil {
		f.retired = make(map[*websocket.Conn]bool)
	}
	f.retired[ws] = true
	f.mu.Unlock()
	f.socks[i] = nil
	return ws.Close(websocket.StatusNormalClosure, reason)
}

func (f *fleet) isRetired(ws *websocket.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.retired[ws]
}

// adopt makes ws, opened since the fleet connected, its socket i.
func (f *fleet) adopt(i int, ws *websocket.Conn) {
	f.socks[i] = ws
	f.open.Add(1)
	f.wg.Go(func() { f.read(i, ws) })
}

// send writes one text frame to socket i.
func (f *fleet) send(i int, b []byte) error {
	ws := f.socks[i]
	if ws == nil {
		return errors.New("send: socket not open")
	}
	ctx, cancel := context.WithTimeout(f.ctx, f.lg.cfg.Timeout)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

// holdPhase summarises the hold: Count is the sockets still open.
func (f *fleet) holdPhase(elapsed time.Duration) *phase {
	p := f.dropped.phase(elapsed)
	p.Count = f.open.Load()
	p.Rate = 0
	p.Latency = latency{}
	return p
}

// holdStatus makes the progress line count the sockets held (what) and
// the time left until end.
func (f *fleet) holdStatus(what string, end time.Time) {
	f.lg.setStatus(func() string {
		_, failed := f.dropped.counts()
		return fmt.Sprintf("%s: %d open, %d dropped, %.0fs left", what, f.open.Load(), failed, max(0, time.Until(end).Seconds()))
	})
}

// waitUntil waits until t and reports true, or false if ctx ends first.
func waitUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// close closes every socket with 1000, c at a time, and waits for the
// readers. Sockets that do not answer the close within a few seconds are
// dropped.
func (f *fleet) close() {
	f.closing.Store(true)
	f.lg.setStatus(func() string { return fmt.Sprintf("closing: %d open", f.open.Load()) })
	parallel(context.WithoutCancel(f.ctx), len(f.socks), max(f.lg.cfg.C, 64), func(i int) {
		if ws := f.socks[i]; ws != nil {
			_ = ws.Close(websocket.StatusNormalClosure, "load test done")
		}
	})
	f.cancel()
	f.wg.Wait()
}

// waitFor polls cond every 10 ms until it holds or d passes, and reports
// whether it held. The load tool polls (it is not a test): a condition
// spanning thousands of sockets has no single event to wait on.
func waitFor(ctx context.Context, d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return cond()
		case <-t.C:
		}
	}
	return true
}
