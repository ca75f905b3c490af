package app

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCORS(t *testing.T) {
	h := cors([]string{"game.example.com", "https://*.example.org"}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	tests := []struct {
		name, method, origin, preflight string
		status                          int
		allowOrigin                     string
	}{
		{"no origin", "POST", "", "", http.StatusTeapot, ""},
		{"same host", "POST", "http://gw.test", "", http.StatusTeapot, ""},
		{"allowed host", "POST", "https://game.example.com", "", http.StatusTeapot, "https://game.example.com"},
		{"allowed scheme pattern", "GET", "https://app.example.org", "", http.StatusTeapot, "https://app.example.org"},
		{"scheme pattern refuses http", "GET", "http://app.example.org", "", http.StatusTeapot, ""},
		{"foreign origin gets no header", "POST", "https://evil.test", "", http.StatusTeapot, ""},
		{"preflight allowed", "OPTIONS", "https://game.example.com", "POST", http.StatusNoContent, "https://game.example.com"},
		{"preflight refused", "OPTIONS", "https://evil.test", "DELETE", http.StatusForbidden, ""},
		{"plain OPTIONS passes", "OPTIONS", "https://game.example.com", "", http.StatusTeapot, "https://game.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://gw.test/session", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.preflight != "" {
				r.Header.Set("Access-Control-Request-Method", tt.preflight)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.status || rec.Header().Get("Access-Control-Allow-Origin") != tt.allowOrigin {
				t.Fatalf("%s from %q = %d, allow-origin %q; want %d, %q", tt.method, tt.origin, rec.Code, rec.Header().Get("Access-Control-Allow-Origin"), tt.status, tt.allowOrigin)
			}
			if tt.preflight != "" && tt.status == http.StatusNoContent && rec.Header().Get("Access-Control-Allow-Headers") != "Authorization, Content-Type" {
				t.Fatalf("preflight allow-headers = %q", rec.Header().Get("Access-Control-Allow-Headers"))
			}
		})
	}
}
