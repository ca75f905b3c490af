package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bigtwo/gateway/web"
)

func TestRegister(t *testing.T) {
	mux := http.NewServeMux()
	web.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	tests := []struct {
		name, path string
		status     int
		typ, body  string
	}{
		{"page", "/", 200, "text/html", `data-testid="status"`},
		{"client module", "/assets/client.js", 200, "javascript", `export { GatewayClient, State } from "./socket.js"`},
		{"socket module", "/assets/socket.js", 200, "javascript", "export class GatewayClient"},
		{"demo module", "/assets/demo.js", 200, "javascript", `from "./client.js"`},
		{"other path", "/nope", 404, "", ""},
		{"missing asset", "/assets/nope.js", 404, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := http.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status {
				t.Fatalf("GET %s = %d, want %d", tc.path, res.StatusCode, tc.status)
			}
			if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, tc.typ) {
				t.Errorf("GET %s Content-Type = %q, want %q in it", tc.path, ct, tc.typ)
			}
			if !strings.Contains(string(b), tc.body) {
				t.Errorf("GET %s body lacks %q", tc.path, tc.body)
			}
		})
	}
}

// TestPageTestIDs keeps the data-testid attributes the browser tests and
// external tools drive the page by.
func TestPageTestIDs(t *testing.T) {
	mux := http.NewServeMux()
	web.Register(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	page := rec.Body.String()
	for _, id := range []string{"username", "status", "room", "join", "message", "send", "log", "logout", "logout-all", "members", "sessions", "list-sessions", "game-log"} {
		if !strings.Contains(page, `data-testid="`+id+`"`) {
			t.Errorf("the page has no data-testid=%q", id)
		}
	}
}
