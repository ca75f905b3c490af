package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/session"
	"github.com/bigtwo/gateway/store/postgres"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// gatewayProc is the gateway started through run, as main would.
type gatewayProc struct {
	url    string
	cancel context.CancelFunc
	done   chan error
	logs   *logLines

	stopOnce sync.Once
	err      error
}

// logLines collects the JSON log lines the gateway writes.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// startGateway runs the gateway on a free port with env (plus
// GATEWAY_ADDR=127.0.0.1:0) and stops it at cleanup.
func startGateway(t *testing.T, env map[string]string) *gatewayProc {
	t.Helper()
	vars := map[string]string{"GATEWAY_ADDR": "127.0.0.1:0", "GATEWAY_LOG_LEVEL": "debug"}
	for k, v := range env {
		vars[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	g := &gatewayProc{cancel: cancel, done: make(chan error, 1), logs: &logLines{}}
	addr := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			g.logs.add(line)
			var l struct {
				Msg  string `json:"message"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "listening" {
				addr <- l.Addr
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		err := run(ctx, []string{"gateway"}, func(k string) string { return vars[k] }, pw, io.Discard)
		pw.Close()
		g.done <- err
	}()
	t.Cleanup(func() {
		if err := g.stop(); err != nil {
			t.Errorf("gateway: %v", err)
		}
		<-scanned
	})
	select {
	case a := <-addr:
		g.url = "http://" + a
	case err := <-g.done:
		t.Fatalf("gateway exited before listening: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("gateway did not log listening within 10s")
	}
	return g
}

// stop cancels run and waits for it; it may be called more than once and
// from any goroutine.
func (g *gatewayProc) stop() error {
	g.cancel()
	g.stopOnce.Do(func() {
		select {
		case g.err = <-g.done:
		case <-time.After(15 * time.Second):
			g.err = errors.New("gateway did not stop within 15s")
		}
	})
	return g.err
}

// waitReady polls /readyz until it answers 200, failing after 10 s.
func (g *gatewayProc) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := g.do(t, "GET", "/readyz", nil)
		if res.status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d %s after 10s", res.status, res.body)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
	}
}

type httpResult struct {
	status int
	header http.Header
	body   string
}

func (g *gatewayProc) do(t *testing.T, method, path string, hdr map[string]string) httpResult {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, g.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return httpResult{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (g *gatewayProc) createSession(t *testing.T) (token, sessionID string) {
	t.Helper()
	res := g.do(t, "POST", "/session", nil)
	if res.status != http.StatusCreated {
		t.Fatalf("POST /session = %d %s", res.status, res.body)
	}
	var s struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
	}
	if err := json.Unmarshal([]byte(res.body), &s); err != nil {
		t.Fatal(err)
	}
	return s.Token, s.SessionID
}

func wantJSONError(t *testing.T, res httpResult, status int, code string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if res.status != status || json.Unmarshal([]byte(res.body), &e) != nil || e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("got %d %q, want %d with JSON error code %q", res.status, res.body, status, code)
	}
}

func TestRouterErrorsAreJSON(t *testing.T) {
	g := startGateway(t, nil)
	wantJSONError(t, g.do(t, "GET", "/nope", nil), 404, "not_found")
	wantJSONError(t, g.do(t, "GET", "/index.html", nil), 404, "not_found")
	wantJSONError(t, g.do(t, "GET", "/assets/", nil), 404, "not_found")
	wantJSONError(t, g.do(t, "GET", "/assets/nope.js", nil), 404, "not_found")
	if res := g.do(t, "GET", "/assets/client.js", nil); res.status != 200 || !strings.Contains(res.header.Get("Content-Type"), "javascript") {
		t.Fatalf("GET /assets/client.js = %d %s", res.status, res.header.Get("Content-Type"))
	}
	wantJSONError(t, g.do(t, "GET", "/admin/sessions?player_id=x", nil), 404, "not_found")
	res := g.do(t, "PUT", "/session", nil)
	wantJSONError(t, res, 405, "method_not_allowed")
	if res.header.Get("Allow") == "" {
		t.Error("405 without an Allow header")
	}
	if res := g.do(t, "GET", "/", nil); res.status != 200 || !strings.Contains(res.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s, want the page", res.status, res.header.Get("Content-Type"))
	}
	if res := g.do(t, "GET", "/healthz", nil); res.status != 200 {
		t.Fatalf("GET /healthz = %d", res.status)
	}
	if res := g.do(t, "GET", "/readyz", nil); res.status != 200 {
		t.Fatalf("GET /readyz = %d", res.status)
	}
}

func TestAdminEnabled(t *testing.T) {
	g := startGateway(t, map[string]string{"GATEWAY_ADMIN_TOKEN": "let-me-in-please", "GATEWAY_NODE_NAME": "node-a"})
	tok, _ := g.createSession(t)
	wantJSONError(t, g.do(t, "GET", "/admin/sessions?player_id=00000000-0000-0000-0000-000000000000", nil), 401, "missing_token")
	wantJSONError(t, g.do(t, "GET", "/admin/sessions?player_id=00000000-0000-0000-0000-000000000000", map[string]string{"Authorization": "Bearer " + tok}), 403, "forbidden")
	res := g.do(t, "GET", "/admin/sessions?player_id=00000000-0000-0000-0000-000000000000", map[string]string{"Authorization": "Bearer let-me-in-please"})
	if res.status != 200 {
		t.Fatalf("admin list = %d %s", res.status, res.body)
	}

	// A chat room and a table, listed with this gateway as their host.
	c, _, err := websocket.Dial(t.Context(), "ws"+strings.TrimPrefix(g.url, "http")+"/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	waitType(t, c, "welcome")
	for _, f := range []string{`{"type":"room.join","data":{"room":"lobby"}}`, `{"type":"game.sit","data":{"table":"t1"}}`} {
		if err := c.Write(t.Context(), websocket.MessageText, []byte(f)); err != nil {
			t.Fatal(err)
		}
	}
	waitType(t, c, "room.joined")
	waitType(t, c, "game.seated")
	wantJSONError(t, g.do(t, "GET", "/admin/rooms", map[string]string{"Authorization": "Bearer " + tok}), 403, "forbidden")
	res = g.do(t, "GET", "/admin/rooms", map[string]string{"Authorization": "Bearer let-me-in-please"})
	want := `{"rooms":[{"room":"lobby","kind":"chat","host":"node-a","members":1},{"room":"t1","kind":"table","host":"node-a","members":1}]}` + "\n"
	if res.status != 200 || res.body != want {
		t.Fatalf("GET /admin/rooms = %d %s, want 200 %s", res.status, res.body, want)
	}
}

func TestSessionRateLimit(t *testing.T) {
	g := startGateway(t, map[string]string{"GATEWAY_SESSION_RATE": "1/h", "GATEWAY_SESSION_BURST": "2", "GATEWAY_TRUSTED_PROXIES": "127.0.0.1"})
	for range 2 {
		g.createSession(t)
	}
	res := g.do(t, "POST", "/session", nil)
	wantJSONError(t, res, 429, "rate_limited")
	if ra := res.header.Get("Retry-After"); ra == "" || ra == "0" || strings.ContainsAny(ra, ".") {
		t.Fatalf("Retry-After = %q, want whole seconds", ra)
	}
	// With a token too: every POST /session counts.
	wantJSONError(t, g.do(t, "POST", "/session", map[string]string{"Authorization": "Bearer x"}), 429, "rate_limited")
	// Another client behind the trusted proxy has its own bucket.
	if res := g.do(t, "POST", "/session", map[string]string{"X-Forwarded-For": "198.51.100.1"}); res.status != 201 {
		t.Fatalf("another address = %d %s, want 201", res.status, res.body)
	}
}

func TestRefreshRateLimit(t *testing.T) {
	g := startGateway(t, map[string]string{"GATEWAY_REFRESH_RATE": "1/h", "GATEWAY_REFRESH_BURST": "1"})
	for i, want := range []int{401, 429} { // the first is refused for its token, but counts
		req, _ := http.NewRequestWithContext(t.Context(), "POST", g.url+"/session/refresh", strings.NewReader(`{"refresh_token":"`+strings.Repeat("A", 43)+`"}`))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want || (want == 429 && res.Header.Get("Retry-After") == "") {
			t.Fatalf("refresh %d = %d (Retry-After %q), want %d", i+1, res.StatusCode, res.Header.Get("Retry-After"), want)
		}
	}
}

func TestGCPercentDefault(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })

	g := startGateway(t, map[string]string{"GOGC": "100"})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent with GOGC=100 set = %d, want it left at 100", got)
	}
	if err := g.stop(); err != nil {
		t.Fatal(err)
	}
	startGateway(t, nil)
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Errorf("GC percent without GOGC = %d, want %d", got, defaultGCPercent)
	}
}

func TestBadConfigStopsBeforeListening(t *testing.T) {
	err := run(t.Context(), []string{"gateway"}, env(map[string]string{"GATEWAY_TOKEN_TTL": "banana"}), io.Discard, io.Discard)
	if err == nil || err.Error() != `GATEWAY_TOKEN_TTL: invalid duration "banana"` {
		t.Fatalf("run() = %v, want the setting named", err)
	}
}

func TestLogoutClosesSocketAndDrain(t *testing.T) {
	g := startGateway(t, nil)
	wsURL := "ws" + strings.TrimPrefix(g.url, "http") + "/ws"
	tok, _ := g.createSession(t)
	dial := func(tok string) *websocket.Conn {
		t.Helper()
		c, _, err := websocket.Dial(t.Context(), wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { c.CloseNow() })
		waitType(t, c, "welcome")
		return c
	}
	c := dial(tok)
	if res := g.do(t, "DELETE", "/session", map[string]string{"Authorization": "Bearer " + tok}); res.status != 204 {
		t.Fatalf("logout = %d", res.status)
	}
	if code := waitClose(t, c); code != 4003 {
		t.Fatalf("close after logout = %d, want 4003", code)
	}

	tok2, _ := g.createSession(t)
	c2 := dial(tok2)
	errc := make(chan error, 1)
	go func() { errc <- g.stop() }()
	if code := waitClose(t, c2); code != websocket.StatusGoingAway {
		t.Fatalf("close on shutdown = %d, want 1001", code)
	}
	if err := <-errc; err != nil {
		t.Fatalf("run() after drain = %v, want nil", err)
	}
}

// waitType reads frames until one of type typ arrives, or fails.
func waitType(t *testing.T, c *websocket.Conn, typ string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		var f struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(b, &f) == nil && f.Type == typ {
			return
		}
	}
}

// waitClose reads until the socket closes and returns the close code.
func waitClose(t *testing.T, c *websocket.Conn) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			t.Fatalf("waiting for close: %v", err)
		}
	}
}

func TestMetricsMove(t *testing.T) {
	g := startGateway(t, nil)
	tok, _ := g.createSession(t)
	c, _, err := websocket.Dial(t.Context(), "ws"+strings.TrimPrefix(g.url, "http")+"/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	waitType(t, c, "welcome")
	if res := g.do(t, "DELETE", "/session", map[string]string{"Authorization": "Bearer " + tok}); res.status != 204 {
		t.Fatalf("logout = %d", res.status)
	}
	if code := waitClose(t, c); code != 4003 {
		t.Fatalf("close = %d, want 4003", code)
	}
	// The server counts the close when the socket has ended, just after the
	// client sees it: poll /metrics for it, with a deadline.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(g.do(t, "GET", "/metrics", nil).body, `gateway_socket_closes_total{code="4003"} 1`) {
		if time.Now().After(deadline) {
			t.Fatal(`gateway_socket_closes_total{code="4003"} did not reach 1 within 5s`)
		}
		time.Sleep(10 * time.Millisecond)
	}
	res := g.do(t, "GET", "/metrics", nil)
	if res.status != 200 {
		t.Fatalf("GET /metrics = %d", res.status)
	}
	for _, want := range []string{
		`gateway_sessions_created_total{kind="new_player"} 1`,
		`gateway_sessions_revoked_total{reason="logout"} 1`,
		`gateway_http_requests_total{route="POST /session",status="201"} 1`,
		`gateway_http_request_duration_seconds_bucket{route="POST /session"`,
		`gateway_store_operation_duration_seconds_count{operation="create_player",result="ok"} 1`,
		"process_resident_memory_bytes ",
		`gateway_socket_opens_total{path="header",result="ok"} 1`,
		`gateway_frames_sent_total{family="welcome"} 1`,
		`gateway_sockets 0`,
		"go_goroutines ",
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestMetricsLint(t *testing.T) {
	reg := newRegistry()
	session.NewMetrics(reg)
	gateway.NewMetrics(reg)
	newHTTPMetrics(reg)
	registerPoolMetrics(reg, func() postgres.PoolStat { return postgres.PoolStat{MaxConns: 16, IdleConns: 1} })
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
}
