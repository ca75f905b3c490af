package gateway

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// TestDrainWithSilentPeers: peers that never read (so never answer the
// close handshake) do not delay the 1001 of healthy peers, which comes the
// moment Shutdown is called; and Shutdown returns exactly abortGrace after
// its deadline, even with a Handler call that ignores its canceled ctx.
func TestDrainWithSilentPeers(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, Options{MaxPendingPerIP: -1})
		for range 150 {
			tok, _ := b.auth.token(time.Hour)
			b.dialWelcomed(t, tok) // and never read again
		}
		stuckTok, _ := b.auth.token(time.Hour)
		stuck, _ := b.dialWelcomed(t, stuckTok)
		stuck.writeText(t, `{"type":"room.stuck"}`)
		<-b.h.stuck
		t.Cleanup(func() { close(b.h.unstuck) }) // before the bubble's own cleanup Shutdown
		var healthy []*rawConn
		for range 10 {
			tok, _ := b.auth.token(time.Hour)
			r, _ := b.dialWelcomed(t, tok)
			healthy = append(healthy, r)
		}

		const budget = time.Second
		ctx, cancel := context.WithTimeout(t.Context(), budget)
		defer cancel()
		start := time.Now()
		errc := make(chan error, 1)
		go func() { errc <- b.srv.Shutdown(ctx) }()
		for i, r := range healthy {
			op, p := r.readFrame(t)
			code, reason := closePayload(p)
			if op != opClose || code != 1001 || reason != "server shutting down" {
				t.Errorf("healthy peer %d: frame op%d %q, want close 1001 server shutting down", i, op, p)
			}
			if got := time.Since(start); got != 0 {
				t.Errorf("healthy peer %d: 1001 came %v after Shutdown began, want at once", i, got)
			}
			r.write(t, clientFrame(opClose, string(p))) // the close reply
		}
		if err := <-errc; !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown = %v, want the deadline's error", err)
		}
		if took, want := time.Since(start), budget+abortGrace; took != want {
			t.Errorf("Shutdown took %v, want exactly %v (its deadline + abortGrace)", took, want)
		}
	})
}
