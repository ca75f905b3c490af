package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bigtwo/gateway/session"
	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// newMetricsGateway is a test gateway whose metrics are on a registry of
// its own.
func newMetricsGateway(t *testing.T, opts Options) (*testGateway, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts.Metrics = NewMetrics(reg)
	return newTestGateway(t, opts), reg
}

// metricValue returns the value of the series name{labels} in reg; labels
// are name, value pairs. It fails the test if there is no such series.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels)/2 {
				continue
			}
			for i, lp := range m.GetLabel() {
				if lp.GetName() != labels[2*i] || lp.GetValue() != labels[2*i+1] {
					continue series
				}
			}
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
		t.Fatalf("no series %s%q", name, labels)
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// wantMetric checks the series name{labels} has value want.
func wantMetric(t *testing.T, reg *prometheus.Registry, want float64, name string, labels ...string) {
	t.Helper()
	if got := metricValue(t, reg, name, labels...); got != want {
		t.Errorf("%s%q = %v, want %v", name, labels, got, want)
	}
}

// shutdown drains g and so waits until every socket has ended and been
// counted.
func shutdown(t *testing.T, g *testGateway) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := g.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// waitEnded waits until every socket of g has ended by itself (and been
// counted), without closing any.
func waitEnded(t *testing.T, g *testGateway) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		g.srv.reg.active.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("sockets still open after 10s")
	}
}

// waitDisconnect waits until the Handler has been told a socket ended;
// its close is counted by then.
func waitDisconnect(t *testing.T, g *testGateway) {
	t.Helper()
	select {
	case <-g.h.disconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("no Disconnect within 10s")
	}
}

func TestMetricsLint(t *testing.T) {
	t.Parallel()
	g, reg := newMetricsGateway(t, Options{})
	tok, _ := g.token(t, time.Hour)
	c := g.dialWelcomed(t, tok)
	roundTrip(t, c)

	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatalf("GatherAndLint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]bool)
	for _, mf := range mfs {
		got[mf.GetName()] = true
	}
	for _, name := range []string{
		"gateway_sockets", "gateway_socket_opens_total", "gateway_auth_failures_total",
		"gateway_upgrade_refusals_total", "gateway_socket_closes_total", "gateway_frames_received_total",
		"gateway_frames_sent_total", "gateway_send_queue_overflows_total",
	} {
		if !got[name] {
			t.Errorf("metric %s not registered", name)
		}
	}
	if len(got) != 8 {
		t.Errorf("registered %d metrics, want 8: %v", len(got), got)
	}
}

// A socket's life moves the gauge, opens, frames by family and closes by
// code, and a 4003 from Revoked is counted as such.
func TestMetricsSocketLifecycle(t *testing.T) {
	t.Parallel()
	g, reg := newMetricsGateway(t, Options{})
	tok, id := g.token(t, time.Hour)
	c := g.dialWelcomed(t, tok)
	<-g.h.connected
	wantMetric(t, reg, 1, "gateway_sockets")
	wantMetric(t, reg, 1, "gateway_socket_opens_total", "path", "header", "result", "ok")
	wantMetric(t, reg, 1, "gateway_frames_sent_total", "family", "welcome")

	roundTrip(t, c)
	writeJSON(t, c, `{"type":"room.echo","id":1}`)
	waitFrame(t, c, "room.echoed")
	writeJSON(t, c, `hello`)
	wantError(t, c, "bad_request", "")
	writeJSON(t, c, `{"type":"lobby.dance"}`)
	wantError(t, c, "unknown_type", "")
	for _, tt := range []struct {
		name, family string
		want         float64
	}{
		{"gateway_frames_received_total", "ping", 1},
		{"gateway_frames_received_total", "room", 1},
		{"gateway_frames_received_total", "other", 2},
		{"gateway_frames_received_total", "game", 0},
		{"gateway_frames_sent_total", "pong", 1},
		{"gateway_frames_sent_total", "room", 1},
		{"gateway_frames_sent_total", "error", 2},
		{"gateway_frames_sent_total", "welcome", 1},
	} {
		wantMetric(t, reg, tt.want, tt.name, "family", tt.family)
	}

	g.srv.Revoked(session.Revocation{SessionID: id.SessionID, PlayerID: id.PlayerID, Reason: session.ReasonLogout})
	wantClose(t, c, StatusRevoked)
	waitDisconnect(t, g)
	wantMetric(t, reg, 1, "gateway_socket_closes_total", "code", "4003")
	wantMetric(t, reg, 0, "gateway_sockets")
	wantMetric(t, reg, 0, "gateway_socket_closes_total", "code", "1001")
}

// Every upgraded socket is counted once in opens, by path and result, and
// once in closes; failed authentications are auth failures.
func TestMetricsOpens(t *testing.T) {
	t.Parallel()
	header := func(tok string) (string, *websocket.DialOptions) {
		return "", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}}
	}
	subprotocol := func(tok string) (string, *websocket.DialOptions) {
		return "", &websocket.DialOptions{Subprotocols: []string{"bigtwo.v1", "bearer." + tok}}
	}
	query := func(tok string) (string, *websocket.DialOptions) {
		return "?token=" + url.QueryEscape(tok), nil
	}
	frame := func(string) (string, *websocket.DialOptions) { return "", nil }
	tests := []struct {
		name    string
		dial    func(tok string) (string, *websocket.DialOptions)
		authErr error  // the token's authentication error
		first   string // first frame, %s is the token; "-" closes instead
		path    string
		result  string
		failure string // the auth failure reason, if one
		code    string // the socket's close code
	}{
		{name: "header ok", dial: header, path: "header", result: "ok", code: "1001"},
		{name: "subprotocol ok", dial: subprotocol, path: "subprotocol", result: "ok", code: "1001"},
		{name: "query ok", dial: query, path: "query", result: "ok", code: "1001"},
		{name: "frame ok", dial: frame, first: `{"type":"auth","data":{"token":%q}}`,
			path: "frame", result: "ok", code: "1001"},
		{name: "header invalid", dial: header, authErr: session.ErrInvalidToken,
			path: "header", result: "invalid_token", failure: "invalid_token", code: "4001"},
		{name: "subprotocol token expired", dial: subprotocol, authErr: session.ErrTokenExpired,
			path: "subprotocol", result: "token_expired", failure: "token_expired", code: "4001"},
		{name: "query revoked", dial: query, authErr: session.ErrRevoked,
			path: "query", result: "session_revoked", failure: "session_revoked", code: "4001"},
		{name: "query session expired", dial: query, authErr: session.ErrExpired,
			path: "query", result: "session_expired", failure: "session_expired", code: "4001"},
		{name: "frame store unavailable", dial: frame, authErr: session.ErrUnavailable,
			first: `{"type":"auth","data":{"token":%q}}`,
			path:  "frame", result: "store_unavailable", failure: "store_unavailable", code: "1013"},
		{name: "header internal error", dial: header, authErr: errors.New("boom"),
			path: "header", result: "error", failure: "error", code: "1011"},
		{name: "frame without token", dial: frame, first: `{"type":"auth","data":{}}`,
			path: "frame", result: "missing_token", failure: "missing_token", code: "4001"},
		{name: "first frame not auth", dial: frame, first: `{"type":"ping"}`,
			path: "frame", result: "missing_token", failure: "missing_token", code: "4001"},
		{name: "oversize first frame", dial: frame, first: `{"type":"auth","data":{"token":"` + strings.Repeat("a", 9000) + `"}}`,
			path: "frame", result: "protocol_error", code: "1009"},
		{name: "client leaves", dial: frame, first: "-", path: "frame", result: "client_closed", code: "1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, reg := newMetricsGateway(t, Options{})
			tok, id := g.token(t, time.Hour)
			if tt.authErr != nil {
				g.auth.set(tok, id, fmt.Errorf("validate: %w", tt.authErr))
			}
			suffix, opts := tt.dial(tok)
			c, _, err := g.dialOpts(t, g.url+suffix, opts)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			switch tt.first {
			case "":
			case "-":
				c.Close(websocket.StatusNormalClosure, "")
			default:
				if strings.Contains(tt.first, "%q") {
					tt.first = fmt.Sprintf(tt.first, tok)
				}
				writeJSON(t, c, tt.first)
			}
			switch {
			case tt.result == "ok":
				waitFrame(t, c, "welcome")
				c.CloseRead(t.Context()) // answers the drain's close
				shutdown(t, g)
			case tt.first == "-":
				waitEnded(t, g)
			default:
				waitClose(t, c, 10*time.Second)
				waitEnded(t, g)
			}
			wantOneOpen(t, reg, tt.path, tt.result, tt.failure, tt.code)
		})
	}
}

// TestMetricsAuthTimeout: a socket closed for its auth timeout (4002) is
// counted as TestMetricsOpens counts the others.
func TestMetricsAuthTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		b := newBubble(t, Options{AuthTimeout: 10 * time.Second, Metrics: NewMetrics(reg)})
		c := b.dial(t, "", kernelBuffer)
		c.wantClose(t, 4002)
		c.c.Close()
		synctest.Wait() // the socket has ended and been counted
		wantOneOpen(t, reg, "frame", "auth_timeout", "auth_timeout", "4002")
	})
}

// wantOneOpen checks that reg counted one socket: opened by path with
// result, an auth failure for failure unless it is empty, closed with code.
func wantOneOpen(t *testing.T, reg *prometheus.Registry, path, result, failure, code string) {
	t.Helper()
	wantMetric(t, reg, 1, "gateway_socket_opens_total", "path", path, "result", result)
	wantMetric(t, reg, 1, "gateway_socket_closes_total", "code", code)
	if failure != "" {
		wantMetric(t, reg, 1, "gateway_auth_failures_total", "reason", failure)
	}
	var opens, failures, wantFailures float64
	for r := range numResults {
		for p := range numPaths {
			opens += metricValue(t, reg, "gateway_socket_opens_total", "path", p.String(), "result", r.String())
		}
		if r.authFailure() {
			failures += metricValue(t, reg, "gateway_auth_failures_total", "reason", r.String())
		}
	}
	if failure != "" {
		wantFailures = 1
	}
	if opens != 1 || failures != wantFailures {
		t.Errorf("opens = %v, auth failures = %v, want 1 and %v", opens, failures, wantFailures)
	}
}

func TestMetricsTooManySockets(t *testing.T) {
	t.Parallel()
	g, reg := newMetricsGateway(t, Options{MaxSocketsPerPlayer: 1})
	tok, _ := g.token(t, time.Hour)
	g.dialWelcomed(t, tok).CloseRead(t.Context()) // answers the drain's close
	wantClose(t, g.dial(t, tok), StatusTooManySockets)
	wantMetric(t, reg, 1, "gateway_socket_opens_total", "path", "header", "result", "ok")
	wantMetric(t, reg, 1, "gateway_socket_opens_total", "path", "header", "result", "too_many_sockets")
	wantMetric(t, reg, 0, "gateway_auth_failures_total", "reason", "error")
	wantMetric(t, reg, 1, "gateway_sockets")
	shutdown(t, g)
	wantMetric(t, reg, 1, "gateway_socket_closes_total", "code", "4008")
	wantMetric(t, reg, 1, "gateway_socket_closes_total", "code", "1001")
	wantMetric(t, reg, 0, "gateway_sockets")
}

func TestMetricsUpgradeRefusals(t *testing.T) {
	t.Parallel()
	g, reg := newMetricsGateway(t, Options{MaxPendingPerIP: 1})
	get := func(h http.Header) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, g.ts.URL+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = h
		resp, err := g.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	get(http.Header{})                        // upgrade_required
	get(upgradeHeader("http://evil.example")) // origin_not_allowed
	pending, _, err := g.dialOpts(t, g.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	pending.CloseRead(t.Context()) // answers the drain's close
	if _, _, err := g.dialOpts(t, g.url, nil); err == nil {
		t.Fatal("second pending dial succeeded")
	}
	shutdown(t, g)
	if _, _, err := g.dialOpts(t, g.url, nil); err == nil {
		t.Fatal("dial while draining succeeded")
	}
	for _, reason := range []string{"upgrade_required", "origin_not_allowed", "too_many_pending", "draining"} {
		wantMetric(t, reg, 1, "gateway_upgrade_refusals_total", "reason", reason)
	}
	wantMetric(t, reg, 1, "gateway_socket_opens_total", "path", "frame", "result", "draining")
}

func TestMetricsSlowConsumer(t *testing.T) {
	t.Parallel()
	g, reg := newMetricsGateway(t, Options{SendQueue: 4})
	tok, _ := g.token(t, time.Hour)
	c := g.dialWelcomed(t, tok)
	wantMetric(t, reg, 0, "gateway_send_queue_overflows_total")
	writeJSON(t, c, `{"type":"room.flood","data":{"n":4000,"size":16384}}`)
	select {
	case <-g.h.sendErr:
	case <-time.After(10 * time.Second):
		t.Fatal("Send never reported a full queue")
	}
	wantMetric(t, reg, 1, "gateway_send_queue_overflows_total")
	wantClose(t, c, websocket.StatusTryAgainLater)
	waitDisconnect(t, g)
	wantMetric(t, reg, 1, "gateway_socket_closes_total", "code", "1013")
}

func TestMetricsRateLimitAndRefresh(t *testing.T) {
	t.Parallel()
	g, reg := newMetricsGateway(t, Options{MessageRate: 1, MessageBurst: 3})
	tok, _ := g.token(t, time.Hour)
	c := g.dialWelcomed(t, tok)
	writeJSON(t, c, `{"type":"auth.refresh","id":1,"data":{"token":"nope"}}`)
	wantError(t, c, "invalid_token", "1")
	wantMetric(t, reg, 1, "gateway_auth_failures_total", "reason", "invalid_token")
	wantMetric(t, reg, 1, "gateway_frames_received_total", "family", "auth")
	for i := range 10 {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err := c.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(`{"type":"game.x","id":%d}`, i)))
		cancel()
		if err != nil {
			break
		}
	}
	wantClose(t, c, StatusRateLimited)
	waitDisconnect(t, g)
	wantMetric(t, reg, 1, "gateway_socket_closes_total", "code", "4029")
}

func TestFrameFamily(t *testing.T) {
	tests := []struct {
		typ  string
		want string
	}{
		{"room.join", "room"},
		{"game.play", "game"},
		{"ping", "ping"},
		{"pong", "pong"},
		{"auth", "auth"},
		{"auth.refreshed", "auth"},
		{"session.expiring", "session"},
		{"welcome", "welcome"},
		{"error", "error"},
		{"rooms", "other"},
		{"roomy.join", "other"},
		{"lobby.dance", "other"},
		{"sessionsession.x", "other"},
		{".room", "other"},
		{"", "other"},
		{"ro\"om.x", "other"},
		{"room\n.x", "other"},
	}
	for _, tt := range tests {
		if got := typeFamily(tt.typ).String(); got != tt.want {
			t.Errorf("typeFamily(%q) = %s, want %s", tt.typ, got, tt.want)
		}
		b := encodeFrame(Message{Type: tt.typ, Data: []byte(`{"a":1}`)})
		if got := encodedFamily(b).String(); got != tt.want {
			t.Errorf("encodedFamily(%s) = %s, want %s", b, got, tt.want)
		}
	}
	if got := encodedFamily([]byte(`{"id":1,"type":"room.x"}`)); got != famOther {
		t.Errorf("encodedFamily of a foreign encoding = %s, want other", got)
	}
}

// Counting a frame allocates nothing.
func TestFrameMetricsDoNotAllocate(t *testing.T) {
	m := NewMetrics(nil)
	b := encodeFrame(Message{Type: "session.expiring", Data: []byte(`{}`)})
	if n := testing.AllocsPerRun(100, func() {
		m.sent(encodedFamily(b))
		m.received(typeFamily("game.play"))
	}); n != 0 {
		t.Errorf("allocations per frame = %v, want 0", n)
	}
}
