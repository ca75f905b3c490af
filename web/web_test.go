package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/bigtwo/gateway/web"
)

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	web.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func TestRegister(t *testing.T) {
	srv := newServer(t)
	tests := []struct {
		name, path string
		status     int
		typ, body  string
	}{
		{"game page", "/", 200, "text/html", `src="/assets/main.js"`},
		{"console", "/console.html", 200, "text/html", `data-testid="status"`},
		{"client module", "/assets/client.js", 200, "javascript", `export { GatewayClient, State } from "./socket.js"`},
		{"socket module", "/assets/socket.js", 200, "javascript", "export class GatewayClient"},
		{"console module", "/assets/console.js", 200, "javascript", `from "./client.js"`},
		{"game styles", "/assets/game.css", 200, "text/css", ""},
		{"other path", "/nope", 404, "", ""},
		{"index by name", "/index.html", 404, "", ""},
		{"missing asset", "/assets/nope.js", 404, "", ""},
		{"asset directory", "/assets/", 404, "", ""},
		{"tests are not served", "/test/fixture.html", 404, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, body := get(t, srv.URL+tc.path)
			if res.StatusCode != tc.status {
				t.Fatalf("GET %s = %d, want %d", tc.path, res.StatusCode, tc.status)
			}
			if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, tc.typ) {
				t.Errorf("GET %s Content-Type = %q, want %q in it", tc.path, ct, tc.typ)
			}
			if !strings.Contains(body, tc.body) {
				t.Errorf("GET %s body lacks %q", tc.path, tc.body)
			}
		})
	}
}

// routes is every path web.Register serves: the pages and each file of
// assets/.
func routes(t *testing.T) []string {
	t.Helper()
	paths := []string{"/", "/console.html"}
	entries, err := os.ReadDir("assets")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			paths = append(paths, "/assets/"+e.Name())
		}
	}
	return paths
}

func TestSecurityHeadersOnEveryRoute(t *testing.T) {
	srv := newServer(t)
	const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	for _, path := range routes(t) {
		res, _ := get(t, srv.URL+path)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, res.StatusCode)
			continue
		}
		for k, want := range map[string]string{
			"Content-Security-Policy": csp,
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "no-referrer",
		} {
			if got := res.Header.Get(k); got != want {
				t.Errorf("GET %s %s = %q, want %q", path, k, got, want)
			}
		}
	}
}

// TestGatewayOriginInCSP: a page pointed at another gateway with
// ?gateway= may call that origin, and nothing a query can smuggle in
// reaches the header.
func TestGatewayOriginInCSP(t *testing.T) {
	srv := newServer(t)
	tests := []struct {
		name, gateway, connect string
	}{
		{"none", "", "connect-src 'self' ws: wss:;"},
		{"http origin", "http://127.0.0.1:8080", "connect-src 'self' ws: wss: http://127.0.0.1:8080;"},
		{"https with path", "https://GW.example.com/x?y", "connect-src 'self' ws: wss: https://gw.example.com;"},
		{"ipv6", "http://[::1]:9000", "connect-src 'self' ws: wss: http://[::1]:9000;"},
		{"not http", "javascript:alert(1)", "connect-src 'self' ws: wss:;"},
		{"injection", "http://a.com;script-src *", "connect-src 'self' ws: wss:;"},
		{"spaces", "http://a.com *", "connect-src 'self' ws: wss:;"},
		{"user info", "http://u:p@a.com", "connect-src 'self' ws: wss:;"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, page := range []string{"/", "/console.html"} {
				req, err := http.NewRequest("GET", srv.URL+page, nil)
				if err != nil {
					t.Fatal(err)
				}
				q := req.URL.Query()
				q.Set("gateway", tc.gateway)
				req.URL.RawQuery = q.Encode()
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				csp := res.Header.Get("Content-Security-Policy")
				if !strings.Contains(csp, tc.connect) {
					t.Errorf("GET %s?gateway=%q CSP = %q, want %q in it", page, tc.gateway, csp, tc.connect)
				}
			}
		})
	}
}

// TestConsoleTestIDs keeps the data-testid attributes the browser tests and
// external tools drive the developer console by.
func TestConsoleTestIDs(t *testing.T) {
	_, page := get(t, newServer(t).URL+"/console.html")
	for _, id := range []string{"username", "status", "player-id", "room", "join", "leave", "current-room", "message", "send", "log",
		"logout", "logout-all", "login", "members", "sessions", "list-sessions", "events", "game-type", "game-data", "game-send", "game-log"} {
		if !strings.Contains(page, `data-testid="`+id+`"`) {
			t.Errorf("the console has no data-testid=%q", id)
		}
	}
}

// TestGamePageTestIDs keeps the data-testid attributes of the game page at
// "/": those the browser tests of the client drive (status, username,
// events, logout, login, ...) and the game's own.
func TestGamePageTestIDs(t *testing.T) {
	_, page := get(t, newServer(t).URL+"/")
	for _, id := range []string{
		// the client's tests
		"username", "status", "player-id", "events", "logout", "logout-all", "login", "sessions", "list-sessions",
		// the game
		"menu", "menu-panel", "banner", "lobby", "play-now", "tables", "table-name", "sit", "watch", "lobby-log", "lobby-input", "lobby-send",
		"table", "back", "stand", "seat-me", "seat-left", "seat-across", "seat-right", "trick-cards", "trick-name", "turn", "notice",
		"hand", "selection", "play", "pass", "hint", "deal", "bots", "result", "result-rows", "table-log", "table-input", "table-send",
		"table-title", "hand-no", "result-title",
	} {
		if !strings.Contains(page, `data-testid="`+id+`"`) {
			t.Errorf("the game page has no data-testid=%q", id)
		}
	}
}

// TestNoInlineCode: the pages hold no inline script, style or event
// handler, which the Content-Security-Policy would refuse anyway.
func TestNoInlineCode(t *testing.T) {
	srv := newServer(t)
	for _, page := range []string{"/", "/console.html"} {
		_, body := get(t, srv.URL+page)
		low := strings.ToLower(body)
		for _, bad := range []string{"<style", " style=", " onclick=", " onload=", " onerror=", " onsubmit=", "javascript:"} {
			if strings.Contains(low, bad) {
				t.Errorf("GET %s has %q", page, bad)
			}
		}
		if strings.Count(low, "<script") != strings.Count(low, `<script type="module" src="/assets/`) {
			t.Errorf("GET %s has a script that is not a module from /assets/", page)
		}
	}
}
