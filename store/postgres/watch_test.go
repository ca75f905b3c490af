package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

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

// waitSynced waits up to d for ok(s.Synced()), checking every few
// milliseconds, and returns the value that satisfied it.
func waitSynced(t *testing.T, s *postgres.Store, what string, d time.Duration, ok func(time.Time) bool) time.Time {
	t.Helper()
	deadline := time.After(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if got := s.Synced(); ok(got) {
			return got
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("Synced() = %v after %v, want %s", s.Synced(), d, what)
		}
	}
}

// Synced moves with the store's own heartbeats while the feed is healthy,
// stands still while the listening connection hangs in silence (Listening
// stays true: only the heartbeats tell), is zero while the connection is
// lost and once Watch has returned.
func TestSyncedFollowsTheFeed(t *testing.T) {
	u := pgtest.Schema(t)
	px := pgtest.NewProxy(t, pgtest.HostOf(t, u))
	opts := postgres.Options{ListenReconnectDelay: 50 * time.Millisecond, Heartbeat: 50 * time.Millisecond}
	s := openStore(t, pgtest.WithHost(t, u, px.Addr()), opts)
	healthy := openStore(t, u, opts) // straight to the database
	if got := s.Synced(); !got.IsZero() {
		t.Fatalf("Synced() = %v before any Watch, want zero", got)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { s.Watch(ctx, func(session.Revocation) {}, func() { close(ready) }) })
	defer func() { cancel(); wg.Wait() }()
	watch(t, healthy)
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("Watch not ready within 10s")
	}

	after := func(t0 time.Time) func(time.Time) bool { return func(s time.Time) bool { return s.After(t0) } }
	t0 := time.Now()
	waitSynced(t, s, "after the start", 5*time.Second, after(t0))
	waitSynced(t, s, "moving on", 5*time.Second, after(time.Now()))

	px.Stall()
	stalled := time.Now()
	// The healthy store's heartbeats, sent after the stall, come back...
	waitSynced(t, healthy, "past the stall", 5*time.Second, after(stalled.Add(3*opts.Heartbeat)))
	// ...the stalled store's cannot, and its connection has not failed.
	if got := s.Synced(); got.After(stalled) {
		t.Errorf("Synced() = %v while stalled since %v, want no later than the stall", got, stalled)
	}
	if !s.Listening() {
		t.Error("Listening() = false on a silent connection, want true: only Synced shows the silence")
	}
	px.Restore()
	waitSynced(t, s, "past the stall once restored", 5*time.Second, after(stalled))

	px.Cut()
	waitSynced(t, s, "zero once the connection is lost", 5*time.Second, time.Time.IsZero)
	px.Restore()
	waitSynced(t, s, "after the reconnect", 5*time.Second, after(time.Now()))

	cancel()
	wg.Wait()
	if got := s.Synced(); !got.IsZero() {
		t.Errorf("Synced() = %v after Watch returned, want zero", got)
	}
}

// backdateRevocation makes the revocation of session id look as if it had
// been made ago before now, by the database's clock.
func backdateRevocation(t *testing.T, u string, id uuid.UUID, ago time.Duration) {
	t.Helper()
	if n := pgtest.Exec(t, u, `UPDATE sessions SET revoked_db_at = clock_timestamp() - $2::interval WHERE id = $1`, id, ago); n != 1 {
		t.Fatalf("backdate revocation of %s: %d rows", id, n)
	}
}

// The first connection re-reads from Options.FirstReread before Watch was
// called: a revocation of half an hour ago is delivered before ready with
// an hour, not with the default minute.
func TestFirstRereadReachesBack(t *testing.T) {
	tests := []struct {
		name        string
		firstReread time.Duration
		want        bool
	}{
		{"default minute", 0, false},
		{"an hour", time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := pgtest.Schema(t)
			direct := openStore(t, u, postgres.Options{})
			_, old := newPlayer(t, direct, time.Now())
			if _, err := direct.RevokeSession(t.Context(), old.ID, time.Now(), session.ReasonAdmin); err != nil {
				t.Fatalf("RevokeSession: %v", err)
			}
			backdateRevocation(t, u, old.ID, 30*time.Minute)

			s := openStore(t, u, postgres.Options{FirstReread: tt.firstReread})
			w := watch(t, s) // returns once ready
			got := false
			for done := false; !done; {
				select {
				case r := <-w.revocations:
					got = got || r.SessionID == old.ID
				default:
					done = true
				}
			}
			if got != tt.want {
				t.Errorf("revocation of 30 min ago delivered by ready = %t, want %t", got, tt.want)
			}
		})
	}
}

// A re-read longer than a page is delivered whole, before ready.
func TestRereadPages(t *testing.T) {
	u := pgtest.Schema(t)
	direct := openStore(t, u, postgres.Options{})
	p, _ := newPlayer(t, direct, time.Now())
	const n = 2*5000 + 1 // rereadPage
	pgtest.Exec(t, u, `INSERT INTO sessions (id, player_id, created_at, last_seen_at, expires_at, max_expires_at,
			revoked_at, revoked_reason, revoked_db_at, refresh_hash)
		SELECT gen_random_uuid(), $1, now(), now(), now() + interval '1 hour', now() + interval '1 day',
			now(), 'admin', clock_timestamp() - interval '10 minutes' + i * interval '1 millisecond' / 4,
			uuid_send(gen_random_uuid())
		FROM generate_series(1, $2) AS i`, p.ID, n)

	s := openStore(t, u, postgres.Options{FirstReread: time.Hour})
	seen := make(map[uuid.UUID]bool)
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		s.Watch(ctx, func(r session.Revocation) {
			mu.Lock()
			seen[r.SessionID] = true
			mu.Unlock()
		}, func() { close(ready) })
	})
	defer func() { cancel(); wg.Wait() }()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("Watch not ready within 30s")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != n {
		t.Errorf("re-read delivered %d sessions by ready, want %d", len(seen), n)
	}
}
