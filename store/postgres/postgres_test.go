package postgres_test

import (
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bigtwo/gateway/session"
	"github.com/bigtwo/gateway/store/postgres"
	"github.com/bigtwo/gateway/store/postgres/pgtest"
)

// base is a fixed instant for the tests' session times; real time is used
// where the database's clock matters (Watch's re-read).
var base = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// newSession returns an active session of player created at now, with a
// random refresh hash.
func newSession(t *testing.T, player uuid.UUID, now time.Time) session.Session {
	t.Helper()
	return session.Session{
		ID:           uuid.New(),
		PlayerID:     player,
		CreatedAt:    now,
		LastSeenAt:   now,
		ExpiresAt:    now.Add(time.Hour),
		MaxExpiresAt: now.Add(24 * time.Hour),
		IP:           "192.0.2.1",
		UserAgent:    "test",
		RefreshHash:  hash(randomHex(t, 16)),
	}
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// newPlayer stores a new player with a first session through s.
func newPlayer(t *testing.T, s *postgres.Store, now time.Time) (session.Player, session.Session) {
	t.Helper()
	p := session.Player{ID: uuid.New(), Username: "p-" + randomHex(t, 6), CreatedAt: now}
	first := newSession(t, p.ID, now)
	if err := s.CreatePlayer(t.Context(), p, first); err != nil {
		t.Fatalf("CreatePlayer: %v", err)
	}
	first.Username = p.Username
	return p, first
}

func TestRevocationReachesOtherStore(t *testing.T) {
	u := pgtest.Schema(t)
	a := openStore(t, u, postgres.Options{})
	b := openStore(t, u, postgres.Options{})
	wa, wb := watch(t, a), watch(t, b)
	_, first := newPlayer(t, a, time.Now())

	start := time.Now()
	if _, err := a.RevokeSession(t.Context(), first.ID, time.Now(), session.ReasonLogout); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	want := session.Revocation{SessionID: first.ID, PlayerID: first.PlayerID, Reason: session.ReasonLogout}
	if got := wb.waitFor(t, first.ID, time.Second); got != want {
		t.Errorf("other store's Watch got %+v, want %+v", got, want)
	}
	t.Logf("delivered to the other store after %v", time.Since(start))
	if got := wa.waitFor(t, first.ID, time.Second); got != want {
		t.Errorf("own Watch got %+v, want %+v", got, want)
	}
}

func TestWatchIgnoresOtherSchemas(t *testing.T) {
	a := openStore(t, pgtest.Schema(t), postgres.Options{})
	b := openStore(t, pgtest.Schema(t), postgres.Options{})
	wb := watch(t, b)
	_, fa := newPlayer(t, a, time.Now())
	_, fb := newPlayer(t, b, time.Now())
	if _, err := a.RevokeSession(t.Context(), fa.ID, time.Now(), session.ReasonLogout); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	// Notifications are delivered in commit order: once b's own arrives,
	// a's would have arrived before it.
	if _, err := b.RevokeSession(t.Context(), fb.ID, time.Now(), session.ReasonLogout); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	select {
	case r := <-wb.revocations:
		if r.SessionID != fb.ID {
			t.Fatalf("Watch on schema b got %+v, want only session %s of its own schema", r, fb.ID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no revocation within 5s")
	}
}

func TestRotateRefreshRaceAcrossStores(t *testing.T) {
	u := pgtest.Schema(t)
	a := openStore(t, u, postgres.Options{})
	b := openStore(t, u, postgres.Options{})
	for i := range 20 {
		_, first := newPlayer(t, a, base)
		now := base.Add(time.Minute)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j, s := range []*postgres.Store{a, b} {
			wg.Go(func() {
				_, errs[j] = s.RotateRefresh(t.Context(), first.RefreshHash, hash(randomHex(t, 16)),
					now, now.Add(time.Hour), session.ClientInfo{})
			})
		}
		wg.Wait()
		won, reused := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, session.ErrRefreshReused):
				reused++
			default:
				t.Fatalf("round %d: RotateRefresh = %v, want nil or ErrRefreshReused", i, err)
			}
		}
		if won != 1 || reused != 1 {
			t.Fatalf("round %d: %d rotated and %d saw reuse, want 1 and 1", i, won, reused)
		}
		got, err := b.Session(t.Context(), first.ID)
		if err != nil {
			t.Fatalf("Session: %v", err)
		}
		if got.RevokedReason != session.ReasonReuse {
			t.Fatalf("round %d: session revoked for %q, want %q", i, got.RevokedReason, session.ReasonReuse)
		}
	}
}

func TestPlayerLimitAcrossStores(t *testing.T) {
	u := pgtest.Schema(t)
	a := openStore(t, u, postgres.Options{})
	b := openStore(t, u, postgres.Options{})
	const limit, n = 3, 12
	p, _ := newPlayer(t, a, base)
	var wg sync.WaitGroup
	evicted := make([][]session.Session, n)
	errs := make([]error, n)
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		ns := newSession(t, p.ID, base.Add(time.Duration(i+1)*time.Second))
		wg.Go(func() { evicted[i], errs[i] = s.CreateSession(t.Context(), ns, limit) })
	}
	wg.Wait()
	total := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("CreateSession %d: %v", i, err)
		}
		total += len(evicted[i])
	}
	active, err := a.PlayerSessions(t.Context(), p.ID, base.Add(time.Minute), false)
	if err != nil {
		t.Fatalf("PlayerSessions: %v", err)
	}
	if len(active) != limit {
		t.Errorf("%d active sessions, want %d", len(active), limit)
	}
	if want := n + 1 - limit; total != want {
		t.Errorf("%d sessions evicted in all, want %d", total, want)
	}
}

func TestRestartKeepsData(t *testing.T) {
	u := pgtest.Schema(t)
	ctx := t.Context()
	s1, err := postgres.Open(ctx, u, postgres.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s1.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	p, first := newPlayer(t, s1, base)
	if err := s1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s2 := openStore(t, u, postgres.Options{}) // migrates again: a no-op
	gotP, err := s2.Player(ctx, p.ID)
	if err != nil || !gotP.CreatedAt.Equal(p.CreatedAt) || gotP.Username != p.Username {
		t.Errorf("Player after restart = %+v, %v; want %+v", gotP, err, p)
	}
	got, err := s2.Session(ctx, first.ID)
	if err != nil {
		t.Fatalf("Session after restart: %v", err)
	}
	if got.Username != p.Username || !got.ExpiresAt.Equal(first.ExpiresAt) || string(got.RefreshHash) != string(first.RefreshHash) {
		t.Errorf("Session after restart = %+v, want %+v", got, first)
	}
}

func TestDeleteExpiredConcurrentSweepers(t *testing.T) {
	u := pgtest.Schema(t)
	a := openStore(t, u, postgres.Options{Timeout: 10 * time.Second})
	b := openStore(t, u, postgres.Options{Timeout: 10 * time.Second})
	ctx := t.Context()
	// 500 players with 5 expired sessions each, through SQL for speed, and
	// one player who also has an active session.
	pgtest.Exec(t, u, `INSERT INTO players (id, username, created_at)
		SELECT gen_random_uuid(), 'sweep-' || i, $1 FROM generate_series(1, 500) i`, base)
	pgtest.Exec(t, u, `INSERT INTO sessions (id, player_id, created_at, last_seen_at, expires_at, max_expires_at, refresh_hash)
		SELECT gen_random_uuid(), p.id, $1::timestamptz, $1, $1 + interval '1 hour', $1 + interval '1 day', uuid_send(gen_random_uuid())
		FROM players p, generate_series(1, 5)`, base)
	keep, kept := newPlayer(t, a, base)
	pgtest.Exec(t, u, `UPDATE sessions SET expires_at = $2 WHERE id = $1`, kept.ID, base.Add(48*time.Hour))

	now := base.Add(2 * time.Hour)
	var wg sync.WaitGroup
	counts := make([]int, 2)
	errs := make([]error, 2)
	for i, s := range []*postgres.Store{a, b} {
		wg.Go(func() { counts[i], errs[i] = s.DeleteExpired(ctx, now) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("DeleteExpired: %v", err)
	}
	if got, want := counts[0]+counts[1], 500*5; got != want {
		t.Errorf("DeleteExpired deleted %d + %d sessions, want %d in all", counts[0], counts[1], want)
	}
	if n := pgtest.Exec(t, u, `SELECT 1 FROM players`); n != 1 {
		t.Errorf("%d players left, want 1", n)
	}
	if _, err := a.Player(ctx, keep.ID); err != nil {
		t.Errorf("Player with an active session: %v", err)
	}
	if _, err := a.Session(ctx, kept.ID); err != nil {
		t.Errorf("active Session: %v", err)
	}
}

func TestUnreachableDatabaseFailsFast(t *testing.T) {
	u := pgtest.Schema(t)
	// A port nothing listens on: grab one and close it.
	addr := closedPort(t)
	s, err := postgres.Open(t.Context(), pgtest.WithHost(t, u, addr), postgres.Options{Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	start := time.Now()
	if err := s.Ping(t.Context()); !isUnavailable(err) {
		t.Errorf("Ping = %v, want ErrUnavailable", err)
	}
	if _, err := s.Session(t.Context(), uuid.New()); !isUnavailable(err) {
		t.Errorf("Session = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v, want well under the timeout", d)
	}
	if err := postgres.Migrate(t.Context(), pgtest.WithHost(t, u, addr)); !isUnavailable(err) {
		t.Errorf("Migrate = %v, want ErrUnavailable", err)
	}
}

// RotateRefresh keeps only the newest former hashes of a session as rows
// (the conformance suite checks the behaviour).
func TestFormerHashRowsBounded(t *testing.T) {
	u := pgtest.Schema(t)
	s := openStore(t, u, postgres.Options{})
	_, other := newPlayer(t, s, base)
	_, first := newPlayer(t, s, base)
	rotateN := func(sess session.Session, n int) {
		t.Helper()
		h := sess.RefreshHash
		for i := range n {
			now := base.Add(time.Duration(i+1) * time.Second)
			next := hash(randomHex(t, 16))
			if _, err := s.RotateRefresh(t.Context(), h, next, now, now.Add(time.Hour), session.ClientInfo{}); err != nil {
				t.Fatalf("RotateRefresh %d: %v", i, err)
			}
			h = next
		}
	}
	rotateN(other, 3)
	rotateN(first, 100)
	for _, c := range []struct {
		id   uuid.UUID
		want int64
	}{{first.ID, 32}, {other.ID, 3}} {
		if got := pgtest.Exec(t, u, `SELECT 1 FROM former_refresh_hashes WHERE session_id = $1`, c.id); got != c.want {
			t.Errorf("session %s: %d former hash rows, want %d", c.id, got, c.want)
		}
	}
}
