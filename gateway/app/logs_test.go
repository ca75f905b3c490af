package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestLogsNeverContainTokens drives every auth path and the error paths and
// checks that no access token, refresh token or ?token= value reaches a log
// line, at debug level.
func TestLogsNeverContainTokens(t *testing.T) {
	g := startGateway(t, map[string]string{"GATEWAY_ADMIN_TOKEN": "admin-token-never-logged-1234", "GATEWAY_AUTH_TIMEOUT": "2s"})
	wsURL := "ws" + strings.TrimPrefix(g.url, "http") + "/ws"
	var secrets []string

	create := func(hdr map[string]string) (tok, refresh string) {
		t.Helper()
		res := g.do(t, "POST", "/session", hdr)
		var s struct {
			Token        string `json:"token"`
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.Unmarshal([]byte(res.body), &s); err != nil || s.Token == "" {
			t.Fatalf("POST /session = %d %s", res.status, res.body)
		}
		secrets = append(secrets, s.Token, s.RefreshToken)
		return s.Token, s.RefreshToken
	}
	refresh := func(rt string) httpResult {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "POST", g.url+"/session/refresh", strings.NewReader(`{"refresh_token":"`+rt+`"}`))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return httpResult{status: res.StatusCode}
	}
	dial := func(url string, opts *websocket.DialOptions) *websocket.Conn {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, url, opts)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { c.CloseNow() })
		return c
	}
	bad := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsZWFrIn0.bm90LWEtc2lnbmF0dXJl-bad-token-text"
	secrets = append(secrets, bad, "admin-token-never-logged-1234", "wrong-admin-token-5678")

	tok, rt := create(nil)
	tok2, _ := create(map[string]string{"Authorization": "Bearer " + tok})
	g.do(t, "POST", "/session", map[string]string{"Authorization": "Bearer " + bad})
	g.do(t, "GET", "/session/validate", map[string]string{"Authorization": "Bearer " + bad})
	g.do(t, "GET", "/session/validate", map[string]string{"Authorization": "Bearer " + tok})
	g.do(t, "GET", "/sessions?token="+tok, map[string]string{"Authorization": "Bearer " + tok2})

	// Every WebSocket auth path, good and bad.
	c := dial(wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
	waitType(t, c, "welcome")
	c = dial(wsURL, &websocket.DialOptions{Subprotocols: []string{"bigtwo.v1", "bearer." + tok2}})
	waitType(t, c, "welcome")
	c = dial(wsURL+"?token="+tok, nil)
	waitType(t, c, "welcome")
	c = dial(wsURL, nil)
	if err := c.Write(t.Context(), websocket.MessageText, []byte(`{"type":"auth","id":"1","data":{"token":"`+tok+`"}}`)); err != nil {
		t.Fatal(err)
	}
	waitType(t, c, "welcome")
	if err := c.Write(t.Context(), websocket.MessageText, []byte(`{"type":"auth.refresh","id":"2","data":{"token":"`+bad+`"}}`)); err != nil {
		t.Fatal(err)
	}
	waitType(t, c, "error")
	if err := c.Write(t.Context(), websocket.MessageText, []byte(`{"type":"auth.refresh","id":"3","data":{"token":"`+tok2+`"}}`)); err != nil {
		t.Fatal(err)
	}
	waitType(t, c, "error")
	for _, opts := range []*websocket.DialOptions{
		{HTTPHeader: http.Header{"Authorization": {"Bearer " + bad}}},
		{Subprotocols: []string{"bigtwo.v1", "bearer." + bad}},
	} {
		waitClose(t, dial(wsURL, opts))
	}
	waitClose(t, dial(wsURL+"?token="+bad, nil))
	c = dial(wsURL, nil)
	_ = c.Write(t.Context(), websocket.MessageText, []byte(`{"type":"auth","data":{"token":"`+bad+`"}}`))
	waitClose(t, c)

	// Refresh: good, reused, unknown; admin with the right and a wrong token.
	if res := refresh(rt); res.status != 200 {
		t.Fatalf("refresh = %d", res.status)
	}
	refresh(rt)
	refresh(strings.Repeat("Z", 43))
	g.do(t, "GET", "/admin/sessions?player_id=00000000-0000-0000-0000-000000000000", map[string]string{"Authorization": "Bearer admin-token-never-logged-1234"})
	g.do(t, "GET", "/admin/sessions?player_id=00000000-0000-0000-0000-000000000000", map[string]string{"Authorization": "Bearer wrong-admin-token-5678"})

	if err := g.stop(); err != nil {
		t.Fatal(err)
	}
	lines := g.logs.all()
	if len(lines) < 20 {
		t.Fatalf("only %d log lines: is debug logging on?", len(lines))
	}
	for _, line := range lines {
		for _, s := range secrets {
			if s != "" && strings.Contains(line, s) {
				t.Errorf("log line contains a secret %.12s...: %s", s, line)
			}
		}
		for _, frag := range []string{"token=", "eyJ"} {
			if strings.Contains(line, frag) {
				t.Errorf("log line contains %q: %s", frag, line)
			}
		}
	}
}
