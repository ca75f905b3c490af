package app

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// pprofAddr returns the address the gateway's "pprof listening" line
// names, or "" when it logged none.
func (g *gatewayProc) pprofAddr(t *testing.T) string {
	t.Helper()
	for _, line := range g.logs.all() {
		var l struct {
			Msg  string `json:"message"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "pprof listening" {
			return l.Addr
		}
	}
	return ""
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

var pprofPaths = []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/heap", "/debug/pprof/symbol"}

func TestPprofOffByDefault(t *testing.T) {
	g := startGateway(t, nil)
	if addr := g.pprofAddr(t); addr != "" {
		t.Errorf("pprof listening on %s without GATEWAY_PPROF_ADDR", addr)
	}
	for _, p := range pprofPaths {
		wantJSONError(t, g.do(t, "GET", p, nil), http.StatusNotFound, "not_found")
	}
}

func TestPprofOnItsOwnAddressOnly(t *testing.T) {
	g := startGateway(t, map[string]string{"GATEWAY_PPROF_ADDR": "127.0.0.1:0"})
	addr := g.pprofAddr(t)
	if addr == "" || "http://"+addr == g.url {
		t.Fatalf("pprof address = %q (public %s), want a listener of its own", addr, g.url)
	}
	status, body := get(t, "http://"+addr+"/debug/pprof/")
	if status != http.StatusOK || !strings.Contains(body, "Types of profiles available") || !strings.Contains(body, "goroutine") {
		t.Fatalf("GET /debug/pprof/ on the pprof address = %d %.200q, want the profile index", status, body)
	}
	if status, _ := get(t, "http://"+addr+"/debug/pprof/cmdline"); status != http.StatusOK {
		t.Errorf("GET /debug/pprof/cmdline on the pprof address = %d, want 200", status)
	}
	if status, _ := get(t, "http://"+addr+"/session/validate"); status != http.StatusNotFound {
		t.Errorf("GET /session/validate on the pprof address = %d, want 404 (only pprof there)", status)
	}
	for _, p := range pprofPaths {
		wantJSONError(t, g.do(t, "GET", p, nil), http.StatusNotFound, "not_found")
	}
}

func TestPprofOnThePublicPortRefused(t *testing.T) {
	tests := []struct {
		name, addr, pprof string
	}{
		{"same address", "127.0.0.1:8080", "127.0.0.1:8080"},
		{"wildcard public", ":8080", "127.0.0.1:8080"},
		{"other host, same port", "10.0.0.1:8080", "127.0.0.1:8080"},
		{"named port", "127.0.0.1:80", "127.0.0.1:http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(t.Context(), []string{"gateway"}, env(map[string]string{"GATEWAY_ADDR": tt.addr, "GATEWAY_PPROF_ADDR": tt.pprof}), io.Discard, io.Discard)
			if err == nil || !strings.HasPrefix(err.Error(), "GATEWAY_PPROF_ADDR: port ") || !strings.Contains(err.Error(), "GATEWAY_ADDR's") {
				t.Fatalf("run() = %v, want GATEWAY_PPROF_ADDR refused on GATEWAY_ADDR's port", err)
			}
		})
	}
}
