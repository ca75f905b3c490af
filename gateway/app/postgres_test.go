package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/bigtwo/gateway/store/postgres/pgtest"
)

const testSecret = "a-test-signing-secret-of-32-bytes-or-more"

func TestPostgresContract(t *testing.T) {
	db := pgtest.Schema(t)
	g := startGateway(t, map[string]string{"GATEWAY_DATABASE_URL": db, "GATEWAY_JWT_SECRET": testSecret, "GATEWAY_ADMIN_TOKEN": "pg-admin-token"})
	auth := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

	res := g.do(t, "POST", "/session", nil)
	var s struct {
		Token, RefreshToken, PlayerID, SessionID string
	}
	decode := func(body string) {
		t.Helper()
		var raw map[string]string
		if err := json.Unmarshal([]byte(body), &raw); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
		s.Token, s.RefreshToken, s.PlayerID, s.SessionID = raw["token"], raw["refresh_token"], raw["player_id"], raw["session_id"]
	}
	if res.status != 201 {
		t.Fatalf("create = %d %s", res.status, res.body)
	}
	decode(res.body)
	first := s
	if res := g.do(t, "GET", "/session/validate", auth(s.Token)); res.status != 200 {
		t.Fatalf("validate = %d %s", res.status, res.body)
	}
	res = g.do(t, "POST", "/session", auth(s.Token))
	if res.status != 201 {
		t.Fatalf("second device = %d %s", res.status, res.body)
	}
	decode(res.body)
	if s.PlayerID != first.PlayerID {
		t.Fatalf("second device player = %s, want %s", s.PlayerID, first.PlayerID)
	}
	second := s

	refresh := func(rt string) httpResult {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "POST", g.url+"/session/refresh", strings.NewReader(`{"refresh_token":"`+rt+`"}`))
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return httpResult{status: r.StatusCode, body: string(b)}
	}
	res = refresh(first.RefreshToken)
	if res.status != 200 {
		t.Fatalf("refresh = %d %s", res.status, res.body)
	}
	decode(res.body)
	wantJSONError(t, refresh(first.RefreshToken), 401, "refresh_token_reused")
	wantJSONError(t, g.do(t, "GET", "/session/validate", auth(s.Token)), 401, "session_revoked")

	res = g.do(t, "GET", "/sessions", auth(second.Token))
	if res.status != 200 || strings.Count(res.body, `"session_id"`) != 1 || !strings.Contains(res.body, `"current":true`) {
		t.Fatalf("GET /sessions = %d %s, want the one live session, current", res.status, res.body)
	}
	res = g.do(t, "GET", "/admin/sessions?player_id="+first.PlayerID, auth("pg-admin-token"))
	if res.status != 200 || !strings.Contains(res.body, `"revoked_reason":"refresh_token_reused"`) {
		t.Fatalf("admin listing = %d %s", res.status, res.body)
	}
	if res := g.do(t, "DELETE", "/sessions", auth(second.Token)); res.status != 204 {
		t.Fatalf("logout everywhere = %d %s", res.status, res.body)
	}
	wantJSONError(t, g.do(t, "GET", "/session/validate", auth(second.Token)), 401, "session_revoked")
	g.waitReady(t)
	metrics := g.do(t, "GET", "/metrics", nil).body
	for _, want := range []string{"gateway_db_pool_max_connections 16", `gateway_db_pool_connections{state="idle"}`, "gateway_db_pool_acquires_total "} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestPostgresUserAgentNotUTF8: PostgreSQL refuses text that is not UTF-8,
// so a User-Agent of other bytes (or one cut through a character at the
// 512-byte bound) made POST /session answer 500. It is recorded as valid
// UTF-8, on creation and on refresh.
func TestPostgresUserAgentNotUTF8(t *testing.T) {
	db := pgtest.Schema(t)
	g := startGateway(t, map[string]string{"GATEWAY_DATABASE_URL": db, "GATEWAY_JWT_SECRET": testSecret})
	for ua, recorded := range map[string]string{
		"bot\xff\xfe":                  "bot\uFFFD",
		strings.Repeat("a", 511) + "é": strings.Repeat("a", 511),
	} {
		res := g.do(t, "POST", "/session", map[string]string{"User-Agent": ua})
		if res.status != http.StatusCreated {
			t.Fatalf("POST /session with User-Agent %.12q... = %d %s, want 201", ua, res.status, res.body)
		}
		var s struct {
			Token        string `json:"token"`
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.Unmarshal([]byte(res.body), &s); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequestWithContext(t.Context(), "POST", g.url+"/session/refresh", strings.NewReader(`{"refresh_token":"`+s.RefreshToken+`"}`))
		req.Header.Set("User-Agent", ua)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusOK {
			t.Fatalf("refresh with User-Agent %.12q... = %d %s, want 200", ua, r.StatusCode, b)
		}
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		res = g.do(t, "GET", "/sessions", map[string]string{"Authorization": "Bearer " + s.Token})
		if res.status != http.StatusOK || !strings.Contains(res.body, `"user_agent":"`+recorded+`"`) {
			t.Fatalf("GET /sessions = %d %s", res.status, res.body)
		}
	}
}

func TestPostgresSessionSurvivesRestart(t *testing.T) {
	db := pgtest.Schema(t)
	env := map[string]string{"GATEWAY_DATABASE_URL": db, "GATEWAY_JWT_SECRET": testSecret}
	g := startGateway(t, env)
	tok, _ := g.createSession(t)
	if err := g.stop(); err != nil {
		t.Fatalf("first gateway: %v", err)
	}
	g2 := startGateway(t, env)
	if res := g2.do(t, "GET", "/session/validate", map[string]string{"Authorization": "Bearer " + tok}); res.status != 200 {
		t.Fatalf("validate after restart = %d %s", res.status, res.body)
	}
}

func TestPostgresTwoGatewaysSeeEachOthersLogouts(t *testing.T) {
	db := pgtest.Schema(t)
	env := map[string]string{"GATEWAY_DATABASE_URL": db, "GATEWAY_JWT_SECRET": testSecret}
	a := startGateway(t, env)
	b := startGateway(t, env)
	tok, _ := a.createSession(t)

	wsURL := "ws" + strings.TrimPrefix(b.url, "http") + "/ws"
	c, _, err := websocket.Dial(t.Context(), wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
	if err != nil {
		t.Fatalf("dial gateway b: %v", err)
	}
	defer c.CloseNow()
	waitType(t, c, "welcome")

	start := time.Now()
	if res := a.do(t, "DELETE", "/session", map[string]string{"Authorization": "Bearer " + tok}); res.status != 204 {
		t.Fatalf("logout on a = %d", res.status)
	}
	if code := waitClose(t, c); code != 4003 {
		t.Fatalf("socket on b closed %d, want 4003", code)
	}
	t.Logf("logout on a closed the socket on b after %v", time.Since(start))
}

func TestMigrateCommand(t *testing.T) {
	err := run(t.Context(), []string{"gateway", "migrate"}, env(nil), io.Discard, io.Discard)
	if err == nil || !strings.HasPrefix(err.Error(), "GATEWAY_DATABASE_URL: ") {
		t.Fatalf("migrate without a database = %v, want an error naming GATEWAY_DATABASE_URL", err)
	}
	db := pgtest.Schema(t)
	for i := range 2 { // the second run is a no-op
		if err := run(t.Context(), []string{"gateway", "migrate", "-database-url", db}, env(nil), io.Discard, io.Discard); err != nil {
			t.Fatalf("migrate run %d: %v", i+1, err)
		}
	}
}

// metricValue returns the value of the sample whose name and labels are
// exactly series (e.g. `m{a="b"}`) in the gateway's /metrics, or -1.
func (g *gatewayProc) metricValue(t *testing.T, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(g.do(t, "GET", "/metrics", nil).body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err == nil {
				return f
			}
		}
	}
	return -1
}

// dialBearer opens a socket authenticated in the handshake, closed at
// cleanup.
func (g *gatewayProc) dialBearer(t *testing.T, tok string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(t.Context(), "ws"+strings.TrimPrefix(g.url, "http")+"/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// The socket fast path on PostgreSQL, as the binary wires it: on by
// default, counted as path="fast" (off: path="store"); the feed that
// closes a logged-out session's sockets also shuts its fast path at once;
// the memory store never takes it.
func TestSocketFastPath(t *testing.T) {
	tests := []struct {
		name     string
		postgres bool
		setting  string
		path     string
	}{
		{"postgres, default", true, "", "fast"},
		{"postgres, off", true, "off", "store"},
		{"memory", false, "on", "store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"GATEWAY_JWT_SECRET": testSecret, "GATEWAY_AUTH_FAST_PATH": tt.setting}
			if tt.postgres {
				env["GATEWAY_DATABASE_URL"] = pgtest.Schema(t)
			}
			g := startGateway(t, env)
			g.waitReady(t)
			ok := `gateway_session_validations_total{path="` + tt.path + `",result="ok"}`
			deadline := time.Now().Add(10 * time.Second)
			var c *websocket.Conn
			var tok string
			for g.metricValue(t, ok) < 1 { // the feed's first heartbeat may come just after /readyz
				if time.Now().After(deadline) {
					t.Fatalf("no %s within 10s", ok)
				}
				tok, _ = g.createSession(t)
				c = g.dialBearer(t, tok)
				waitType(t, c, "welcome")
			}
			other := map[string]string{"fast": "store", "store": "fast"}[tt.path]
			if tt.path == "store" && g.metricValue(t, `gateway_session_validations_total{path="`+other+`",result="ok"}`) > 0 {
				t.Errorf("a socket took the %s path", other)
			}
			if res := g.do(t, "DELETE", "/session", map[string]string{"Authorization": "Bearer " + tok}); res.status != 204 {
				t.Fatalf("logout = %d %s", res.status, res.body)
			}
			if code := waitClose(t, c); code != 4003 {
				t.Fatalf("open socket after logout closed %d, want 4003", code)
			}
			// The feed has delivered the revocation (the socket closed): a
			// new socket of the session is refused (4001, as for any token
			// refused at authentication), on the same path.
			if code := waitClose(t, g.dialBearer(t, tok)); code != 4001 {
				t.Fatalf("new socket after logout closed %d, want 4001", code)
			}
			if got := g.metricValue(t, `gateway_session_validations_total{path="`+tt.path+`",result="session_revoked"}`); got != 1 {
				t.Errorf("refusals on the %s path = %v, want 1", tt.path, got)
			}
		})
	}
}
