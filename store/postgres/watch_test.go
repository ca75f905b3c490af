package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bigtwo/gateway/session"
	"github.com/bigtwo/gateway/store/postgres"
	"github.com/bigtwo/gateway/store/postgres/pgtest"
)

// waitListening waits up to d for s.Listening() to be want, checking every
// few milliseconds.
func waitListening(t *testing.T, s *postgres.Store, want bool, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for s.Listening() != want {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("Listening() still %t after %v, want %t", !want, d, want)
		}
	}
}

func TestListeningFollowsTheConnection(t *testing.T) {
	u := pgtest.Schema(t)
	px := pgtest.NewProxy(t, pgtest.HostOf(t, u))
	s := openStore(t, pgtest.WithHost(t, u, px.Addr()), postgres.Options{ListenReconnectDelay: 100 * time.Millisecond})
	if s.Listening() {
		t.Error("Listening() = true before any Watch, want false")
	}
	watch(t, s)
	if !s.Listening() {
		t.Error("Listening() = false once Watch is ready, want true")
	}
	for round := range 2 { // and again after a reconnect
		px.Cut()
		waitListening(t, s, false, 5*time.Second)
		px.Restore()
		waitListening(t, s, true, 5*time.Second)
		t.Logf("round %d: listening again", round)
	}
}

func TestListeningEndsWithWatch(t *testing.T) {
	s := openStore(t, pgtest.Schema(t), postgres.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan struct{})
	var wg sync.WaitGroup
	var err error
	wg.Go(func() { err = s.Watch(ctx, func(session.Revocation) {}, func() { close(ready) }) })
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		cancel()
		wg.Wait()
		t.Fatal("Watch not ready within 10s")
	}
	if !s.Listening() {
		t.Error("Listening() = false once Watch is ready, want true")
	}
	cancel()
	wg.Wait()
	if err != nil {
		t.Errorf("Watch = %v, want nil", err)
	}
	if s.Listening() {
		t.Error("Listening() = true after Watch returned, want false")
	}
}

// A revocation committed after Watch is called but before its first
// connection listens (the listener cannot connect while the pool can) is
// delivered once it listens.
func TestWatchFirstConnectionRereads(t *testing.T) {
	u := pgtest.Schema(t)
	direct := openStore(t, u, postgres.Options{})
	px := pgtest.NewProxy(t, pgtest.HostOf(t, u))
	s := openStore(t, pgtest.WithHost(t, u, px.Addr()), postgres.Options{ListenReconnectDelay: 100 * time.Millisecond})
	p, first := newPlayer(t, direct, time.Now())
	px.Cut()

	revocations := make(chan session.Revocation, 100) // one expected
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan struct{})
	var wg sync.WaitGroup
	var watchErr error
	wg.Go(func() {
		watchErr = s.Watch(ctx, func(r session.Revocation) { revocations <- r }, func() { close(ready) })
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		if watchErr != nil {
			t.Errorf("Watch = %v, want nil after its context ended", watchErr)
		}
	})

	if _, err := direct.RevokeSession(t.Context(), first.ID, time.Now(), session.ReasonAdmin); err != nil {
		t.Fatalf("RevokeSession through the direct store: %v", err)
	}
	if s.Listening() {
		t.Error("Listening() = true while the listener cannot connect, want false")
	}
	select {
	case <-ready:
		t.Fatal("Watch called ready while the listener cannot connect")
	default:
	}
	px.Restore()

	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("Watch not ready within 10s of the restore")
	}
	// Re-read before ready: the revocation is there already.
	select {
	case got := <-revocations:
		want := session.Revocation{SessionID: first.ID, PlayerID: p.ID, Reason: session.ReasonAdmin}
		if got != want {
			t.Errorf("first connection delivered %+v, want %+v", got, want)
		}
	default:
		t.Error("no revocation delivered by the time Watch was ready, want the one made before it listened")
	}
}
