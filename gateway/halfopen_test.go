package gateway

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestHalfOpenPeerReleasedAfterHeartbeat: a peer that stops answering (a
// SIGSTOPped process, a dead network: its socket still takes what is
// written) is known dead once a heartbeat goes unanswered. The gateway then
// sends its close frame and drops the connection deadPeerCloseWait later,
// rather than wait coder/websocket's 5 s for a close reply that cannot
// come: the socket is released exactly PingTimeout + deadPeerCloseWait
// after its first heartbeat. Fake time (testing/synctest) over an
// in-memory connection that buffers like a kernel's socket.
func TestHalfOpenPeerReleasedAfterHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := Options{PingInterval: 5 * time.Second, PingTimeout: 3 * time.Second}
		b := newBubble(t, opts)
		tok, _ := b.auth.token(time.Hour)
		start := time.Now()
		_, c := b.dialWelcomed(t, tok)
		// The peer reads nothing more: heartbeats go unanswered.
		select {
		case <-b.h.disconnected:
		case <-time.After(time.Hour):
			t.Fatal("half-open peer not released within an hour")
		}
		want := firstHeartbeat(opts.PingInterval, c.ID()) + opts.PingTimeout + deadPeerCloseWait
		if released := time.Since(start); released != want {
			t.Errorf("half-open peer released after %v, want exactly %v (first heartbeat + PingTimeout + deadPeerCloseWait)", released, want)
		}
	})
}
