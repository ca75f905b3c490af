package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"
)

// testDatabase returns a URL of GATEWAY_TEST_DATABASE_URL selecting a fresh
// schema of the test's own, dropped at cleanup (after the gateways the test
// starts later have stopped). It skips without the variable and fails when
// it is set but unusable.
func testDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv("GATEWAY_TEST_DATABASE_URL")
	if base == "" {
		t.Skip("GATEWAY_TEST_DATABASE_URL is not set: skipping the gateway-on-PostgreSQL tests")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("GATEWAY_TEST_DATABASE_URL is set but unusable: %v", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "gw_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("GATEWAY_TEST_DATABASE_URL is not a URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

const testSecret = "a-test-signing-secret-of-32-bytes-or-more"

func TestPostgresContract(t *testing.T) {
	db := testDatabase(t)
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
	if res := g.do(t, "GET", "/readyz", nil); res.status != 200 {
		t.Fatalf("readyz = %d %s", res.status, res.body)
	}
}

func TestPostgresSessionSurvivesRestart(t *testing.T) {
	db := testDatabase(t)
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
	db := testDatabase(t)
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
	db := testDatabase(t)
	for i := range 2 { // the second run is a no-op
		if err := run(t.Context(), []string{"gateway", "migrate", "-database-url", db}, env(nil), io.Discard, io.Discard); err != nil {
			t.Fatalf("migrate run %d: %v", i+1, err)
		}
	}
}
