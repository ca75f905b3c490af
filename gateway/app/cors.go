package app

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/session"
)

// cors lets browser pages on the allowed origins (GATEWAY_ALLOWED_ORIGINS,
// the same host patterns the WebSocket origin check uses) call the HTTP API:
// it answers preflights and adds Access-Control-Allow-Origin to their
// requests. Same-host requests and requests without an Origin pass through.
func cors(patterns []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		u, err := url.Parse(origin)
		if err == nil && strings.EqualFold(u.Host, r.Host) {
			next.ServeHTTP(w, r) // same origin: nothing to allow
			return
		}
		allowed := err == nil && u.Host != "" && gateway.MatchOrigin(patterns, u)
		w.Header().Add("Vary", "Origin")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		switch {
		case preflight && !allowed:
			session.WriteError(w, http.StatusForbidden, "origin_not_allowed", "origin "+origin+" is not allowed")
		case preflight:
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
		case allowed:
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", "Retry-After, WWW-Authenticate")
			next.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r) // the browser will not let the page read the answer
		}
	})
}
