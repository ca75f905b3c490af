package app

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/store/memory"
	"github.com/bigtwo/gateway/store/postgres/pgtest"
)

func TestStoreOutageAndRecovery(t *testing.T) {
	db := pgtest.Schema(t)
	proxy := pgtest.NewProxy(t, pgtest.HostOf(t, db))
	g := startGateway(t, map[string]string{
		"GATEWAY_DATABASE_URL":  pgtest.WithHost(t, db, proxy.Addr()),
		"GATEWAY_JWT_SECRET":    testSecret,
		"GATEWAY_STORE_TIMEOUT": "1s",
	})
	tok, _ := g.createSession(t)
	g.waitReady(t) // the revocation feed connects just after start-up

	proxy.Cut()
	start := time.Now()
	wantJSONError(t, g.do(t, "POST", "/session", nil), 503, "store_unavailable")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("POST /session took %v with the store down, want about the 1s store timeout", d)
	}
	wantJSONError(t, g.do(t, "GET", "/session/validate", map[string]string{"Authorization": "Bearer " + tok}), 503, "store_unavailable")
	wantJSONError(t, g.do(t, "GET", "/readyz", nil), 503, "store_unavailable")

	proxy.Restore()
	g.waitReady(t)
	if res := g.do(t, "GET", "/session/validate", map[string]string{"Authorization": "Bearer " + tok}); res.status != 200 {
		t.Fatalf("validate after recovery = %d %s", res.status, res.body)
	}
}

func TestReadyzWhileDraining(t *testing.T) {
	gw := gateway.NewServer(nil, nil, zerolog.Nop(), gateway.Options{})
	h := handleReadyz(memory.New(), gw, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 {
		t.Fatalf("readyz before drain = %d", rec.Code)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := gw.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v", err)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 {
		t.Fatalf("readyz while draining = %d, want 503", rec.Code)
	}
}
