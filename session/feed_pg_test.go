package session_test

// Authenticate's fast path on the real feed: PostgreSQL stores as
// gateways, each a Service whose Feed is its store and whose store's Watch
// calls Revoked. These tests skip unless GATEWAY_TEST_DATABASE_URL is set.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/bigtwo/gateway/session"
	"github.com/bigtwo/gateway/store/postgres"
	"github.com/bigtwo/gateway/store/postgres/pgtest"
)

// pgKeys is the signing key every test gateway shares.
func pgKeys(t testing.TB) *session.KeyRing {
	t.Helper()
	keys, err := session.NewKeyRing([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// pgGateway is what a gateway process has of the session layer on
// PostgreSQL: a store, its revocation feed wired to the Service, and the
// Service's metrics.
type pgGateway struct {
	store *postgres.Store // the Service's store
	feed  *postgres.Store // the store whose Watch feeds it (usually store)
	svc   *session.Service
	reg   *prometheus.Registry

	mu        sync.Mutex
	delivered map[uuid.UUID]bool
	news      chan struct{} // one slot: something was delivered

	stopWatch func()
}

type pgGatewayOptions struct {
	store   postgres.Options
	session session.Options
	// feedURL, when set, is where the feed's store connects (e.g. through
	// a proxy), the Service's store staying on the test's URL.
	feedURL string
	// noWatch leaves the feed without a Watch: never synced.
	noWatch bool
}

func openPG(t testing.TB, u string, opts postgres.Options) *postgres.Store {
	t.Helper()
	opts.Logger = zerolog.New(zerolog.NewTestWriter(t))
	s, err := postgres.Open(t.Context(), u, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// startPGGateway opens a gateway on u and, unless opts.noWatch, runs its
// feed until the test ends, returning once the fast path is on (Synced).
func startPGGateway(t testing.TB, u string, keys *session.KeyRing, opts pgGatewayOptions) *pgGateway {
	t.Helper()
	g := &pgGateway{store: openPG(t, u, opts.store), delivered: make(map[uuid.UUID]bool), news: make(chan struct{}, 1)}
	g.feed = g.store
	if opts.feedURL != "" {
		g.feed = openPG(t, opts.feedURL, opts.store)
	}
	g.reg = prometheus.NewRegistry()
	opts.session.Feed = g.feed
	opts.session.Metrics = session.NewMetrics(g.reg)
	g.svc = session.NewService(g.store, keys, zerolog.New(zerolog.NewTestWriter(t)), opts.session)
	if opts.noWatch {
		g.stopWatch = func() {}
		return g
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var watchErr error
	wg.Go(func() {
		watchErr = g.feed.Watch(ctx, func(r session.Revocation) {
			g.svc.Revoked(r)
			g.mu.Lock()
			g.delivered[r.SessionID] = true
			g.mu.Unlock()
			select {
			case g.news <- struct{}{}:
			default:
			}
		}, nil)
	})
	var once sync.Once
	g.stopWatch = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			if watchErr != nil {
				t.Errorf("Watch = %v, want nil after its context ended", watchErr)
			}
		})
	}
	t.Cleanup(g.stopWatch)
	waitFor(t, "the feed synced", 10*time.Second, func() bool { return !g.feed.Synced().IsZero() })
	return g
}

// wasDelivered reports whether the feed has delivered the revocation of id.
func (g *pgGateway) wasDelivered(id uuid.UUID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.delivered[id]
}

// waitFor waits up to d for ok, checking every few milliseconds.
func waitFor(t testing.TB, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.After(d)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !ok() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("no %s within %v", what, d)
		}
	}
}

func (g *pgGateway) create(t testing.TB) session.Issued {
	t.Helper()
	is, err := g.svc.Create(t.Context(), "", session.ClientInfo{IP: "192.0.2.1", UserAgent: "test"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return is
}

// authenticate calls Authenticate and returns its error and the path the
// metric says it took.
func (g *pgGateway) authenticate(t *testing.T, tok string) (path string, err error) {
	t.Helper()
	before := map[string]int{"fast": g.count(t, "fast"), "store": g.count(t, "store")}
	_, err = g.svc.Authenticate(t.Context(), tok)
	for _, p := range []string{"fast", "store"} {
		if g.count(t, p) != before[p] {
			return p, err
		}
	}
	return "none", err
}

// count is every gateway_session_validations_total of path, any result.
func (g *pgGateway) count(t *testing.T, path string) int {
	n := 0
	for _, r := range []string{"ok", "session_revoked", "session_expired", "invalid_token", "store_unavailable", "error"} {
		n += validations(t, g.reg, path, r)
	}
	return n
}

func randomName(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// Two gateways on one database: a session revoked through one is refused
// by the other's fast path once its feed delivers the revocation, and is
// never let in by a call that starts after the delivery.
func TestFastPathRevocationAcrossGateways(t *testing.T) {
	u := pgtest.Schema(t)
	keys := pgKeys(t)
	a := startPGGateway(t, u, keys, pgGatewayOptions{})
	b := startPGGateway(t, u, keys, pgGatewayOptions{})
	is := a.create(t)
	if path, err := b.authenticate(t, is.Token); err != nil || path != "fast" {
		t.Fatalf("Authenticate on b = %v on the %s path, want nil on the fast path", err, path)
	}

	revoked := time.Now()
	if err := a.svc.RevokeSession(t.Context(), is.Session.ID, session.ReasonAdmin); err != nil {
		t.Fatalf("RevokeSession on a: %v", err)
	}
	committed := time.Now()
	deadline := time.After(5 * time.Second)
	for attempts := 1; ; attempts++ {
		delivered := b.wasDelivered(is.Session.ID)
		path, err := b.authenticate(t, is.Token)
		if err == nil {
			if delivered {
				t.Fatalf("attempt %d: b let the session in after its feed delivered the revocation", attempts)
			}
		} else if errors.Is(err, session.ErrRevoked) {
			if path != "fast" {
				t.Errorf("refused on the %s path, want fast", path)
			}
			t.Logf("refused by b's fast path %v after RevokeSession returned (%v after it was called), attempt %d",
				time.Since(committed).Round(time.Microsecond), time.Since(revoked).Round(time.Microsecond), attempts)
			break
		} else {
			t.Fatalf("attempt %d: Authenticate = %v", attempts, err)
		}
		select {
		case <-b.news:
		case <-time.After(time.Millisecond): // retry: the delivery may have been for another session
		case <-deadline:
			t.Fatal("b's fast path still lets the revoked session in after 5s")
		}
	}
	// The store agrees, and the fast path stays shut.
	if _, err := b.svc.Validate(t.Context(), is.Token); !errors.Is(err, session.ErrRevoked) {
		t.Errorf("Validate on b = %v, want ErrRevoked", err)
	}
	if path, err := b.authenticate(t, is.Token); !errors.Is(err, session.ErrRevoked) || path != "fast" {
		t.Errorf("Authenticate on b again = %v on the %s path, want ErrRevoked on the fast path", err, path)
	}
}

// While the feed is down (its connection killed, or its Watch ended), a
// session revoked meanwhile is refused: every socket goes to the store.
func TestFastPathFeedDown(t *testing.T) {
	tests := []struct {
		name string
		down func(t *testing.T, u, node string, b *pgGateway)
	}{
		{"listen connection terminated", func(t *testing.T, u, node string, b *pgGateway) {
			if n := pgtest.Exec(t, u, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
				"gateway "+node+" listen"); n != 1 {
				t.Fatalf("terminated %d listen connections, want 1", n)
			}
		}},
		{"watch ended", func(t *testing.T, u, node string, b *pgGateway) { b.stopWatch() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := pgtest.Schema(t)
			keys := pgKeys(t)
			a := startPGGateway(t, u, keys, pgGatewayOptions{})
			node := "b-" + randomName(t)
			b := startPGGateway(t, u, keys, pgGatewayOptions{store: postgres.Options{NodeName: node, ListenReconnectDelay: time.Hour}})
			is := a.create(t)
			if path, err := b.authenticate(t, is.Token); err != nil || path != "fast" {
				t.Fatalf("Authenticate on b = %v on the %s path, want nil on the fast path", err, path)
			}
			tt.down(t, u, node, b)
			waitFor(t, "Synced() zero once the feed is down", 5*time.Second, func() bool { return b.feed.Synced().IsZero() })
			if err := a.svc.RevokeSession(t.Context(), is.Session.ID, session.ReasonLogout); err != nil {
				t.Fatalf("RevokeSession on a: %v", err)
			}
			if path, err := b.authenticate(t, is.Token); !errors.Is(err, session.ErrRevoked) || path != "store" {
				t.Errorf("Authenticate on b with the feed down = %v on the %s path, want ErrRevoked from the store", err, path)
			}
			if b.wasDelivered(is.Session.ID) {
				t.Error("the feed delivered the revocation while down")
			}
		})
	}
}

// A revocation made while the feed's connection was lost (its NOTIFY
// lost with it) is in the set by the time the fast path is back: the
// reconnected feed re-reads it before its heartbeat can count.
func TestFastPathAfterReconnect(t *testing.T) {
	u := pgtest.Schema(t)
	keys := pgKeys(t)
	a := startPGGateway(t, u, keys, pgGatewayOptions{})
	px := pgtest.NewProxy(t, pgtest.HostOf(t, u))
	b := startPGGateway(t, u, keys, pgGatewayOptions{
		feedURL: pgtest.WithHost(t, u, px.Addr()),
		store:   postgres.Options{ListenReconnectDelay: 50 * time.Millisecond},
	})
	is := a.create(t)
	if path, err := b.authenticate(t, is.Token); err != nil || path != "fast" {
		t.Fatalf("Authenticate on b = %v on the %s path, want nil on the fast path", err, path)
	}
	px.Cut()
	waitFor(t, "Synced() zero once the connection is cut", 5*time.Second, func() bool { return b.feed.Synced().IsZero() })
	if err := a.svc.RevokeSession(t.Context(), is.Session.ID, session.ReasonAdmin); err != nil {
		t.Fatalf("RevokeSession on a: %v", err)
	}
	px.Restore()
	waitFor(t, "Synced() again after the reconnect", 10*time.Second, func() bool { return !b.feed.Synced().IsZero() })
	if !b.wasDelivered(is.Session.ID) {
		t.Error("synced again before the re-read delivered the revocation made meanwhile")
	}
	if path, err := b.authenticate(t, is.Token); !errors.Is(err, session.ErrRevoked) || path != "fast" {
		t.Errorf("Authenticate on b after the reconnect = %v on the %s path, want ErrRevoked on the fast path", err, path)
	}
}

// A feed that hangs in silence (its connection stalled: Listening stays
// true) stops proving anything once no heartbeat has come back within
// FeedWindow, by the Service's clock: then every socket goes to the store.
func TestFastPathSilentFeed(t *testing.T) {
	u := pgtest.Schema(t)
	keys := pgKeys(t)
	a := startPGGateway(t, u, keys, pgGatewayOptions{})
	px := pgtest.NewProxy(t, pgtest.HostOf(t, u))
	var skew atomic.Int64 // added to b's clock
	b := startPGGateway(t, u, keys, pgGatewayOptions{
		feedURL: pgtest.WithHost(t, u, px.Addr()), // only the feed goes through the proxy
		session: session.Options{Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }},
	})
	is := a.create(t)
	if path, err := b.authenticate(t, is.Token); err != nil || path != "fast" {
		t.Fatalf("Authenticate on b = %v on the %s path, want nil on the fast path", err, path)
	}
	px.Stall()
	if err := a.svc.RevokeSession(t.Context(), is.Session.ID, session.ReasonAdmin); err != nil {
		t.Fatalf("RevokeSession on a: %v", err)
	}
	// Time passes for b, not for its stalled feed.
	skew.Store(int64(session.DefaultOptions().FeedWindow + time.Second))
	if !b.feed.Listening() {
		t.Fatal("Listening() = false on a stalled connection: this test needs it silent, not failed")
	}
	if path, err := b.authenticate(t, is.Token); !errors.Is(err, session.ErrRevoked) || path != "store" {
		t.Errorf("Authenticate on b with a silent feed = %v on the %s path, want ErrRevoked from the store", err, path)
	}
	if b.wasDelivered(is.Session.ID) {
		t.Error("the stalled feed delivered the revocation")
	}
	px.Restore()
	skew.Store(0)
	waitFor(t, "the revocation delivered once restored", 10*time.Second, func() bool { return b.wasDelivered(is.Session.ID) })
	waitFor(t, "the fast path back", 10*time.Second, func() bool {
		path, _ := b.authenticate(t, is.Token)
		return path == "fast"
	})
	if _, err := b.authenticate(t, is.Token); !errors.Is(err, session.ErrRevoked) {
		t.Errorf("Authenticate on b once restored = %v, want ErrRevoked", err)
	}
}

// A gateway started after a revocation made within the token lifetime
// refuses that session on the fast path from its first socket: its feed's
// first re-read reaches FeedReach(TokenTTL) back. With the store's default
// reach (a minute) the fast path would let it in: the control row.
func TestFastPathStartedAfterRevocation(t *testing.T) {
	tests := []struct {
		name        string
		firstReread time.Duration
		want        error
	}{
		{"reach FeedReach(TokenTTL)", session.FeedReach(session.DefaultOptions().TokenTTL), session.ErrRevoked},
		{"control: the default minute", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := pgtest.Schema(t)
			keys := pgKeys(t)
			// A token issued 30 minutes ago, valid for another 30; its
			// session revoked 29 minutes ago.
			past := startPGGateway(t, u, keys, pgGatewayOptions{noWatch: true, session: session.Options{
				Now: func() time.Time { return time.Now().Add(-30 * time.Minute) },
			}})
			is := past.create(t)
			if err := past.svc.RevokeSession(t.Context(), is.Session.ID, session.ReasonLogout); err != nil {
				t.Fatalf("RevokeSession: %v", err)
			}
			if n := pgtest.Exec(t, u, `UPDATE sessions SET revoked_db_at = clock_timestamp() - interval '29 minutes' WHERE id = $1`, is.Session.ID); n != 1 {
				t.Fatalf("backdated %d revocations, want 1", n)
			}

			b := startPGGateway(t, u, keys, pgGatewayOptions{store: postgres.Options{FirstReread: tt.firstReread}})
			path, err := b.authenticate(t, is.Token)
			if path != "fast" || !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("Authenticate on the new gateway = %v on the %s path, want %v on the fast path", err, path, tt.want)
			}
		})
	}
}

// 1,000 sockets reconnecting at once (a gateway died) on a pool of 16
// connections with the default store timeout: none fails, whether the
// feed is down (every one asks the store, and each store call writes
// last_seen_at, last set five minutes ago) or up (none does).
func TestFastPathBurst(t *testing.T) {
	u := pgtest.Schema(t)
	keys := pgKeys(t)
	// Sessions last seen five minutes ago, so that the store path writes.
	past := startPGGateway(t, u, keys, pgGatewayOptions{noWatch: true, session: session.Options{
		Now: func() time.Time { return time.Now().Add(-5 * time.Minute) },
	}})
	const n = 1000
	toks := make([]string, n)
	for i := range toks {
		toks[i] = past.create(t).Token
	}
	tests := []struct {
		name     string
		feedDown bool
		path     string
	}{
		{"feed down", true, "store"},
		{"feed up", false, "fast"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := startPGGateway(t, u, keys, pgGatewayOptions{noWatch: tt.feedDown})
			if got := g.store.MaxConns(); got != postgres.DefaultMaxConns {
				t.Fatalf("pool of %d connections, want the default %d", got, postgres.DefaultMaxConns)
			}
			start := time.Now()
			var wg sync.WaitGroup
			var mu sync.Mutex
			var failed []error
			for _, tok := range toks {
				wg.Go(func() {
					if _, err := g.svc.Authenticate(t.Context(), tok); err != nil {
						mu.Lock()
						failed = append(failed, err)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			took := time.Since(start)
			if len(failed) > 0 {
				t.Fatalf("%d of %d Authenticate calls failed in %v, the first: %v", len(failed), n, took, failed[0])
			}
			if got := validations(t, g.reg, tt.path, "ok"); got != n {
				t.Errorf("validations on the %s path = %d, want %d", tt.path, got, n)
			}
			t.Logf("%d concurrent Authenticate calls on the %s path in %v", n, tt.path, took)
		})
	}
}
