package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bigtwo/gateway/session"
	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
)

func TestAuthPaths(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{})
	tests := []struct {
		name    string
		dial    func(tok string) (string, *websocket.DialOptions)
		frame   bool // authenticate with a first frame
		wantSub string
	}{
		{name: "authorization header", dial: func(tok string) (string, *websocket.DialOptions) {
			return g.url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}}
		}},
		{name: "subprotocol", wantSub: "bigtwo.v1", dial: func(tok string) (string, *websocket.DialOptions) {
			return g.url, &websocket.DialOptions{Subprotocols: []string{"bigtwo.v1", "bearer." + tok}}
		}},
		{name: "query", dial: func(tok string) (string, *websocket.DialOptions) {
			return g.url + "?token=" + url.QueryEscape(tok), nil
		}},
		{name: "first frame", frame: true, dial: func(string) (string, *websocket.DialOptions) {
			return g.url, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, id := g.token(t, time.Hour)
			u, opts := tt.dial(tok)
			c, _, err := g.dialOpts(t, u, opts)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			if got := c.Subprotocol(); got != tt.wantSub {
				t.Errorf("Subprotocol() = %q, want %q", got, tt.wantSub)
			}
			wantID := ""
			if tt.frame {
				writeJSON(t, c, fmt.Sprintf(`{"type":"auth","id":"a1","data":{"token":%q}}`, tok))
				wantID = `"a1"`
			}
			f := readFrame(t, c)
			var w struct {
				SessionID, PlayerID, Username string
				ExpiresAt                     time.Time `json:"expires_at"`
			}
			_ = json.Unmarshal(f.Data, &w)
			var raw map[string]any
			_ = json.Unmarshal(f.Data, &raw)
			if f.Type != "welcome" || string(f.ID) != wantID {
				t.Fatalf("first frame = %s id %s, want welcome id %s", f.Type, f.ID, wantID)
			}
			want := map[string]any{
				"session_id": id.SessionID.String(), "player_id": id.PlayerID.String(),
				"username": id.Username, "expires_at": id.ExpiresAt.UTC().Format(time.RFC3339Nano),
			}
			if diff := cmp.Diff(want, raw); diff != "" {
				t.Errorf("welcome data (-want +got):\n%s", diff)
			}
			conn := <-g.h.connected
			if got := conn.Identity(); got != id {
				t.Errorf("Conn.Identity() = %+v, want %+v", got, id)
			}
			roundTrip(t, c)
		})
	}
}

func TestAuthFailures(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{})
	good, _ := g.token(t, time.Hour)
	for tok, err := range map[string]error{
		"expired":     session.ErrTokenExpired,
		"revoked":     session.ErrRevoked,
		"gone":        session.ErrExpired,
		"unavailable": session.ErrUnavailable,
	} {
		g.auth.set(tok, session.Identity{}, fmt.Errorf("validate: %w", err))
	}
	header := func(v string) *websocket.DialOptions {
		return &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {v}}}
	}
	tests := []struct {
		name       string
		url        string
		opts       *websocket.DialOptions
		first      string // first frame to send, if any
		wantCode   websocket.StatusCode
		wantReason string
	}{
		{"unknown bearer token", "", header("Bearer nope"), "", 4001, "invalid token"},
		{"empty bearer token", "", header("Bearer "), "", 4001, "invalid token"},
		{"basic scheme", "", header("Basic dXNlcjpwYXNz"), "", 4001, "invalid token"},
		{"bad header beats good query", "?token=" + good, header("Bearer nope"), "", 4001, "invalid token"},
		{"bad subprotocol beats good query", "?token=" + good,
			&websocket.DialOptions{Subprotocols: []string{"bigtwo.v1", "bearer.nope"}}, "", 4001, "invalid token"},
		{"empty query token", "?token=", nil, "", 4001, "invalid token"},
		{"expired token", "?token=expired", nil, "", 4001, "token expired"},
		{"revoked session", "?token=revoked", nil, "", 4001, "session revoked"},
		{"expired session", "?token=gone", nil, "", 4001, "session expired"},
		{"store unavailable", "?token=unavailable", nil, "", 1013, "store unavailable"},
		{"bad frame token", "", nil, `{"type":"auth","data":{"token":"nope"}}`, 4001, "invalid token"},
		{"frame without token", "", nil, `{"type":"auth","data":{}}`, 4001, "missing token"},
		{"frame without data", "", nil, `{"type":"auth"}`, 4001, "missing token"},
		{"first frame not auth", "", nil, `{"type":"ping","id":1}`, 4001, "first frame must be auth"},
		{"first frame not json", "", nil, `hello`, 4001, "first frame must be auth"},
		{"frame store unavailable", "", nil, `{"type":"auth","data":{"token":"unavailable"}}`, 1013, "store unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := g.dialOpts(t, g.url+tt.url, tt.opts)
			if err != nil {
				t.Fatalf("Dial: %v (the upgrade must complete)", err)
			}
			if tt.first != "" {
				writeJSON(t, c, tt.first)
			}
			code, reason, frames := waitClose(t, c, 10*time.Second)
			if code != tt.wantCode || reason != tt.wantReason || len(frames) != 0 {
				t.Errorf("close = %d %q after %v, want %d %q and no frames", code, reason, frames, tt.wantCode, tt.wantReason)
			}
		})
	}
}

// TestAuthTimeout: a socket without a handshake token that sends no auth
// frame is closed with 4002 at exactly AuthTimeout after the upgrade; an
// auth frame a nanosecond earlier is in time.
func TestAuthTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 10 * time.Second
	t.Run("no auth frame", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBubble(t, Options{AuthTimeout: timeout})
			start := time.Now()
			c := b.dial(t, "", kernelBuffer)
			code, reason, seen := c.waitClose(t)
			if code != 4002 || reason != "auth timeout" || len(seen) != 0 {
				t.Errorf("close = %d %q after %v, want 4002 auth timeout and no frames", code, reason, seen)
			}
			if got := time.Since(start); got != timeout {
				t.Errorf("4002 came %v after the upgrade, want exactly AuthTimeout (%v)", got, timeout)
			}
		})
	})
	t.Run("auth frame just in time", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := newBubble(t, Options{AuthTimeout: timeout})
			tok, _ := b.auth.token(time.Hour)
			c := b.dial(t, "", kernelBuffer)
			time.Sleep(timeout - time.Nanosecond)
			c.writeText(t, fmt.Sprintf(`{"type":"auth","data":{"token":%q}}`, tok))
			if f := c.readData(t); f.Type != "welcome" {
				t.Fatalf("frame = %s %s, want welcome to an auth frame 1ns before the timeout", f.Type, f.Data)
			}
			<-b.h.connected
			time.Sleep(timeout) // past when the stopped auth timer was due
			c.roundTrip(t)
		})
	})
}

func TestSecondAuthFrame(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{})
	tok, _ := g.token(t, time.Hour)
	c := g.dialWelcomed(t, tok)
	writeJSON(t, c, fmt.Sprintf(`{"type":"auth","id":7,"data":{"token":%q}}`, tok))
	wantError(t, c, "already_authenticated", "7")
}

func TestRevokedClosesSocket(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{})
	tok, id := g.token(t, time.Hour)
	c1 := g.dialWelcomed(t, tok)
	c2 := g.dialWelcomed(t, tok)
	otherTok, other := g.token(t, time.Hour)
	c3 := g.dialWelcomed(t, otherTok)
	if got := g.srv.Sockets(); got != 3 {
		t.Errorf("Sockets() = %d, want 3", got)
	}
	g.srv.Revoked(session.Revocation{SessionID: id.SessionID, PlayerID: id.PlayerID, Reason: session.ReasonLogout})
	for _, c := range []*websocket.Conn{c1, c2} {
		if reason := wantClose(t, c, 4003); reason != "session revoked" {
			t.Errorf("reason = %q", reason)
		}
	}
	roundTrip(t, c3) // another session is untouched
	g.srv.Revoked(session.Revocation{SessionID: other.SessionID})
	wantClose(t, c3, 4003)
	for range 3 {
		if err := <-g.h.disconnected; websocket.CloseStatus(err) != 4003 {
			t.Errorf("Disconnect reason = %v, want close 4003", err)
		}
	}
}

// TestExpiry: session.expiring comes at exactly exp - min(60s, TTL/2), and
// the socket is closed with 4004 at exactly exp, not a nanosecond before.
func TestExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ttl  time.Duration
		warn time.Duration // how long before expiry session.expiring is due
	}{
		{"short token: TTL/2", 2 * time.Second, time.Second},
		{"long token: 60s", time.Hour, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBubble(t, Options{})
				tok, id := b.auth.token(tt.ttl)
				c, _ := b.dialWelcomed(t, tok)
				f := c.readData(t)
				var d struct {
					ExpiresAt time.Time `json:"expires_at"`
				}
				_ = json.Unmarshal(f.Data, &d)
				if f.Type != "session.expiring" || !d.ExpiresAt.Equal(id.ExpiresAt) {
					t.Fatalf("frame = %s %s, want session.expiring at %v", f.Type, f.Data, id.ExpiresAt)
				}
				if left := time.Until(id.ExpiresAt); left != tt.warn {
					t.Errorf("session.expiring came %v before expiry, want exactly %v", left, tt.warn)
				}
				code, reason, seen := c.waitCloseAnswering(t)
				if code != 4004 || reason != "token expired" || len(seen) != 0 {
					t.Errorf("close = %d %q after %v, want 4004 token expired and no frames", code, reason, seen)
				}
				if now := time.Now(); !now.Equal(id.ExpiresAt) {
					t.Errorf("4004 came %v after expiry, want exactly at it", now.Sub(id.ExpiresAt))
				}
			})
		})
	}
}

// TestRefreshKeepsSocketAlive: each auth.refresh answering session.expiring
// moves the socket's deadline to the new token's expiry, for as long as the
// client keeps refreshing, and the last deadline stands: 4004 at exactly it.
func TestRefreshKeepsSocketAlive(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, Options{})
		const ttl = 10 * time.Minute // session.expiring 60 s before each expiry
		tok, id := b.auth.token(ttl)
		c, conn := b.dialWelcomed(t, tok)
		last := id
		for i := range 4 { // each refresh 60 s before expiry: four outlive two expiries
			if f := c.readData(t); f.Type != "session.expiring" {
				t.Fatalf("frame = %s %s, want session.expiring", f.Type, f.Data)
			}
			if left := time.Until(last.ExpiresAt); left != time.Minute {
				t.Errorf("session.expiring %d came %v before expiry, want exactly 1m0s", i, left)
			}
			newTok := b.auth.tokenFor(id, ttl)
			last, _ = b.auth.Authenticate(t.Context(), newTok)
			c.writeText(t, fmt.Sprintf(`{"type":"auth.refresh","id":%d,"data":{"token":%q}}`, i, newTok))
			f := c.readData(t)
			var d struct {
				ExpiresAt time.Time `json:"expires_at"`
			}
			_ = json.Unmarshal(f.Data, &d)
			if f.Type != "auth.refreshed" || string(f.ID) != fmt.Sprint(i) || !d.ExpiresAt.Equal(last.ExpiresAt) {
				t.Errorf("frame = %s id %s %s, want auth.refreshed id %d expiring at %v", f.Type, f.ID, f.Data, i, last.ExpiresAt)
			}
		}
		if now := time.Now(); now.Before(id.ExpiresAt.Add(ttl)) {
			t.Errorf("refreshes ended %v after the first expiry, want past two expiries", now.Sub(id.ExpiresAt))
		}
		c.roundTrip(t)
		if got := conn.Identity().ExpiresAt; !got.Equal(last.ExpiresAt) {
			t.Errorf("Identity().ExpiresAt = %v, want the refreshed expiry %v", got, last.ExpiresAt)
		}
		code, _, seen := c.waitCloseAnswering(t)
		if code != 4004 || len(seen) != 1 {
			t.Errorf("close = %d after %v, want 4004 after one session.expiring", code, seen)
		}
		if now := time.Now(); !now.Equal(last.ExpiresAt) {
			t.Errorf("4004 came %v after the last token's expiry, want exactly at it", now.Sub(last.ExpiresAt))
		}
	})
}

// TestRefreshRejected: a refused auth.refresh is answered with an error
// frame and the old deadline stands: 4004 at exactly the old expiry.
func TestRefreshRejected(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, Options{})
		tok, id := b.auth.token(10 * time.Minute)
		otherTok, _ := b.auth.token(time.Hour)
		b.auth.set("down", session.Identity{}, session.ErrUnavailable)
		c, _ := b.dialWelcomed(t, tok)
		tests := []struct{ frame, code string }{
			{`{"type":"auth.refresh","id":"m","data":{"token":"` + otherTok + `"}}`, "session_mismatch"},
			{`{"type":"auth.refresh","id":"m","data":{"token":"nope"}}`, "invalid_token"},
			{`{"type":"auth.refresh","id":"m","data":{"token":"down"}}`, "store_unavailable"},
			{`{"type":"auth.refresh","id":"m","data":{}}`, "bad_request"},
		}
		for _, tt := range tests {
			c.writeText(t, tt.frame)
			f := c.readData(t)
			var e Error
			_ = json.Unmarshal(f.Data, &e)
			if f.Type != "error" || e.Code != tt.code || string(f.ID) != `"m"` {
				t.Fatalf("frame = %s id %s %s, want error %s id \"m\"", f.Type, f.ID, f.Data, tt.code)
			}
		}
		if code, reason, seen := c.waitCloseAnswering(t); code != 4004 || len(seen) != 1 {
			t.Errorf("close = %d %q after %v, want 4004 after one session.expiring", code, reason, seen)
		}
		if now := time.Now(); !now.Equal(id.ExpiresAt) {
			t.Errorf("4004 came %v after the old token's expiry, want exactly at it", now.Sub(id.ExpiresAt))
		}
	})
}

func TestOriginAndUpgradeChecks(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{AllowedOrigins: []string{"game.example.com", "https://*.trusted.example"}})
	tests := []struct {
		name       string
		header     http.Header
		wantStatus int
		wantCode   string
	}{
		{"plain GET", http.Header{}, http.StatusUpgradeRequired, "upgrade_required"},
		{"foreign origin", upgradeHeader("https://evil.example"), http.StatusForbidden, "origin_not_allowed"},
		{"scheme not allowed", upgradeHeader("http://a.trusted.example"), http.StatusForbidden, "origin_not_allowed"},
		{"bad version", func() http.Header {
			h := upgradeHeader("")
			h.Set("Sec-WebSocket-Version", "8")
			return h
		}(), http.StatusUpgradeRequired, "upgrade_required"},
		{"bad key", func() http.Header {
			h := upgradeHeader("")
			h.Set("Sec-WebSocket-Key", "short")
			return h
		}(), http.StatusBadRequest, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, g.ts.URL+"/ws", nil)
			req.Header = tt.header
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Error Error }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if resp.StatusCode != tt.wantStatus || body.Error.Code != tt.wantCode {
				t.Errorf("response = %d %+v, want %d %s", resp.StatusCode, body.Error, tt.wantStatus, tt.wantCode)
			}
		})
	}
	for _, origin := range []string{"https://game.example.com", "https://x.trusted.example", ""} {
		tok, _ := g.token(t, time.Hour)
		h := http.Header{"Authorization": {"Bearer " + tok}}
		if origin != "" {
			h.Set("Origin", origin)
		}
		c, _, err := g.dialOpts(t, g.url, &websocket.DialOptions{HTTPHeader: h})
		if err != nil {
			t.Fatalf("Dial with Origin %q: %v", origin, err)
		}
		waitFrame(t, c, "welcome")
	}
}

func upgradeHeader(origin string) http.Header {
	h := http.Header{
		"Connection":            {"Upgrade"},
		"Upgrade":               {"websocket"},
		"Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key":     {"dGhlIHNhbXBsZSBub25jZQ=="},
	}
	if origin != "" {
		h.Set("Origin", origin)
	}
	return h
}

func TestTooManySocketsPerPlayer(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{MaxSocketsPerPlayer: 2})
	tok, id := g.token(t, time.Hour)
	c1 := g.dialWelcomed(t, tok)
	c2 := g.dialWelcomed(t, g.tokenFor(id, time.Hour))
	c3 := g.dial(t, tok)
	if reason := wantClose(t, c3, 4008); reason != "too many sockets" {
		t.Errorf("reason = %q", reason)
	}
	roundTrip(t, c1)
	roundTrip(t, c2)
	c1.Close(websocket.StatusNormalClosure, "")
	<-g.h.disconnected
	g.dialWelcomed(t, tok) // a slot is free again
}

func TestPendingPerIP(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{MaxPendingPerIP: 2})
	p1, _, err := g.dialOpts(t, g.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.dialOpts(t, g.url, nil); err != nil {
		t.Fatal(err)
	}
	_, resp, err := g.dialOpts(t, g.url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third pending dial: err %v, resp %v, want 429", err, resp)
	}
	if got := resp.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	tok, _ := g.token(t, time.Hour)
	writeJSON(t, p1, fmt.Sprintf(`{"type":"auth","data":{"token":%q}}`, tok))
	waitFrame(t, p1, "welcome") // no longer pending
	c, _, err := g.dialOpts(t, g.url, nil)
	if err != nil {
		t.Fatalf("dial after a welcome: %v", err)
	}
	c.CloseNow()
}

func TestSocketsPerIP(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{MaxSocketsPerIP: 2})
	tok1, _ := g.token(t, time.Hour)
	tok2, _ := g.token(t, time.Hour)
	c1 := g.dialWelcomed(t, tok1)
	g.dialWelcomed(t, tok2)
	_, resp, err := g.dialOpts(t, g.url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third socket from one address: err %v, resp %v, want 429", err, resp)
	}
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error.Code != "too_many_sockets" {
		t.Fatalf("refusal body code = %q (%v), want too_many_sockets", body.Error.Code, err)
	}
	c1.Close(websocket.StatusNormalClosure, "")
	<-g.h.disconnected // the registry has forgotten c1 by now
	tok3, _ := g.token(t, time.Hour)
	g.dialWelcomed(t, tok3) // a slot is free again
}

func TestDrain(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{})
	var conns []*websocket.Conn
	for range 3 {
		tok, _ := g.token(t, time.Hour)
		conns = append(conns, g.dialWelcomed(t, tok))
	}
	pending, _, err := g.dialOpts(t, g.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	conns = append(conns, pending)
	for range 3 {
		<-g.h.connected
	}
	errc := make(chan error, 1)
	go func() { errc <- g.srv.Shutdown(t.Context()) }()
	for _, c := range conns {
		if reason := wantClose(t, c, 1001); reason != "server shutting down" {
			t.Errorf("reason = %q", reason)
		}
	}
	if err := <-errc; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if !g.srv.Draining() || g.srv.Sockets() != 0 {
		t.Errorf("Draining() = %v, Sockets() = %d, want true, 0", g.srv.Draining(), g.srv.Sockets())
	}
	_, resp, err := g.dialOpts(t, g.url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial while draining: err %v, resp %v, want 503", err, resp)
	}
}

// gatedAuth holds every Authenticate until released.
type gatedAuth struct {
	inner   Authenticator
	entered chan struct{}
	release chan struct{}
}

func (a *gatedAuth) Authenticate(ctx context.Context, token string) (session.Identity, error) {
	a.entered <- struct{}{}
	<-a.release
	return a.inner.Authenticate(ctx, token)
}

// A revocation that arrives while the socket authenticates is not missed.
func TestRevokedDuringAuthentication(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{})
	tok, id := g.token(t, time.Hour)
	gate := &gatedAuth{inner: g.auth, entered: make(chan struct{}), release: make(chan struct{})}
	srv := NewServer(gate, g.h, zerolog.New(zerolog.NewTestWriter(t)), Options{})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		ts.Close()
	})
	type dialed struct {
		c   *websocket.Conn
		err error
	}
	done := make(chan dialed, 1)
	go func() {
		c, _, err := websocket.Dial(t.Context(), "ws"+strings.TrimPrefix(ts.URL, "http")+"/ws?token="+tok, nil)
		done <- dialed{c, err}
	}()
	<-gate.entered
	srv.Revoked(session.Revocation{SessionID: id.SessionID, PlayerID: id.PlayerID, Reason: session.ReasonLogout})
	close(gate.release)
	d := <-done
	if d.err != nil {
		t.Fatalf("Dial: %v", d.err)
	}
	defer d.c.CloseNow()
	if code, reason, frames := waitClose(t, d.c, 10*time.Second); code != 4003 || len(frames) != 0 {
		t.Fatalf("close = %d %q after %v, want 4003 and no welcome", code, reason, frames)
	}
}

// session.expiring is due at exp - min(60s, TTL/2) with TTL the token's
// lifetime (exp - iat), not the time it has left when the socket gets it:
// a token issued 40 s before use that expires 20 s after (TTL 60 s, due
// 30 s before expiry) is already due, and comes at once.
func TestExpiringUsesTokenLifetime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		refresh bool // the old token arrives by auth.refresh instead of the handshake
	}{
		{"handshake", false},
		{"auth.refresh", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				b := newBubble(t, Options{})
				tok, id := b.auth.token(time.Hour)
				old := id
				old.IssuedAt = time.Now().Add(-40 * time.Second)
				old.ExpiresAt = old.IssuedAt.Add(time.Minute)
				const oldTok = "tok-old"
				b.auth.set(oldTok, old, nil)
				var c *rawConn
				if tt.refresh {
					c, _ = b.dialWelcomed(t, tok)
					c.writeText(t, `{"type":"auth.refresh","id":1,"data":{"token":"`+oldTok+`"}}`)
					if f := c.readData(t); f.Type != "auth.refreshed" {
						t.Fatalf("frame = %s %s, want auth.refreshed", f.Type, f.Data)
					}
				} else {
					c, _ = b.dialWelcomed(t, oldTok)
				}
				start := time.Now()
				if f := c.readData(t); f.Type != "session.expiring" {
					t.Fatalf("frame = %s %s, want session.expiring", f.Type, f.Data)
				}
				if took := time.Since(start); took != 0 {
					t.Errorf("session.expiring came after %v, want at once", took)
				}
				// Once per token: presenting the same token again is answered,
				// but not warned about again.
				c.writeText(t, `{"type":"auth.refresh","id":2,"data":{"token":"`+oldTok+`"}}`)
				if f := c.readData(t); f.Type != "auth.refreshed" {
					t.Fatalf("frame = %s %s, want auth.refreshed", f.Type, f.Data)
				}
				c.writeText(t, `{"type":"ping","id":3}`)
				if f := c.readData(t); f.Type != "pong" {
					t.Fatalf("frame after re-presenting the token = %s %s, want pong (no second session.expiring)", f.Type, f.Data)
				}
				if code, _, seen := c.waitCloseAnswering(t); code != 4004 || len(seen) != 0 || !time.Now().Equal(old.ExpiresAt) {
					t.Errorf("close = %d after %v at %v, want 4004 and nothing else at exactly %v",
						code, seen, time.Now(), old.ExpiresAt)
				}
			})
		})
	}
}

// TestMaxPending: the process-wide cap on unauthenticated sockets refuses
// the next upgrade with 503 too_many_pending whatever its address, and is
// counted; a welcome frees a slot.
func TestMaxPending(t *testing.T) {
	t.Parallel()
	g, reg := newMetricsGateway(t, Options{MaxPending: 2, MaxPendingPerIP: 100})
	p1, _, err := g.dialOpts(t, g.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.dialOpts(t, g.url, nil); err != nil {
		t.Fatal(err)
	}
	_, resp, err := g.dialOpts(t, g.url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third pending dial: err %v, resp %v, want 503", err, resp)
	}
	if got := resp.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error.Code != "too_many_pending" {
		t.Fatalf("refusal body code = %q (%v), want too_many_pending", body.Error.Code, err)
	}
	wantMetric(t, reg, 1, "gateway_upgrade_refusals_total", "reason", "too_many_pending_server")
	wantMetric(t, reg, 0, "gateway_upgrade_refusals_total", "reason", "too_many_pending")

	tok, _ := g.token(t, time.Hour)
	writeJSON(t, p1, fmt.Sprintf(`{"type":"auth","data":{"token":%q}}`, tok))
	waitFrame(t, p1, "welcome") // no longer pending
	c, _, err := g.dialOpts(t, g.url, nil)
	if err != nil {
		t.Fatalf("dial after a welcome: %v", err)
	}
	c.CloseNow()
}

func TestDefaultMaxPending(t *testing.T) {
	if got, want := (Options{}).withDefaults().MaxPending, 512*runtime.GOMAXPROCS(0); got != want {
		t.Errorf("default MaxPending = %d, want %d (512 per CPU)", got, want)
	}
}
