package gateway

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestDrainWithSilentPeers: peers that never read (so never answer the
// close handshake) do not delay the 1001 of healthy peers, and Shutdown
// returns within its budget plus a short grace, even with a Handler call
// that ignores its canceled ctx.
func TestDrainWithSilentPeers(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{MaxPendingPerIP: -1})
	for range 150 {
		tok, _ := g.token(t, time.Hour)
		g.dialWelcomed(t, tok) // and never read again
	}
	stuckTok, _ := g.token(t, time.Hour)
	stuck := g.dialWelcomed(t, stuckTok)
	writeJSON(t, stuck, `{"type":"room.stuck"}`)
	<-g.h.stuck
	t.Cleanup(func() { close(g.h.unstuck) }) // before the gateway's own cleanup Shutdown
	var healthy []*websocket.Conn
	for range 10 {
		tok, _ := g.token(t, time.Hour)
		healthy = append(healthy, g.dialWelcomed(t, tok))
	}

	const budget = time.Second
	ctx, cancel := context.WithTimeout(t.Context(), budget)
	defer cancel()
	start := time.Now()
	errc := make(chan error, 1)
	go func() { errc <- g.srv.Shutdown(ctx) }()
	for i, c := range healthy {
		code, reason, _ := waitClose(t, c, budget)
		if code != websocket.StatusGoingAway || reason != "server shutting down" {
			t.Errorf("healthy peer %d: close = %d %q, want 1001 server shutting down", i, code, reason)
		}
	}
	select {
	case err := <-errc:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown = %v, want the deadline's error", err)
		}
		if took, limit := time.Since(start), budget+abortGrace+time.Second; took > limit {
			t.Errorf("Shutdown took %v, want at most %v", took, limit)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
}
