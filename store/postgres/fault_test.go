package postgres_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bigtwo/gateway/session"
	"github.com/bigtwo/gateway/store/postgres"
	"github.com/bigtwo/gateway/store/postgres/pgtest"
)

// closedPort returns an address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestDatabaseCutAndRestored(t *testing.T) {
	for _, mode := range []struct {
		name string
		cut  func(*pgtest.Proxy)
	}{{"refused", (*pgtest.Proxy).Cut}, {"stalled", (*pgtest.Proxy).Stall}} {
		t.Run(mode.name, func(t *testing.T) { testCutAndRestored(t, mode.cut) })
	}
}

// testCutAndRestored breaks the proxy with breakProxy while the store is in
// use and restores it.
func testCutAndRestored(t *testing.T, breakProxy func(*pgtest.Proxy)) {
	u := pgtest.Schema(t)
	direct := openStore(t, u, postgres.Options{})
	px := pgtest.NewProxy(t, pgtest.HostOf(t, u))
	const timeout = 500 * time.Millisecond
	s := openStore(t, pgtest.WithHost(t, u, px.Addr()), postgres.Options{Timeout: timeout, ListenReconnectDelay: 100 * time.Millisecond})
	w := watch(t, s)
	p, first := newPlayer(t, s, time.Now())

	breakProxy(px)
	calls := []struct {
		name string
		call func() error
	}{
		{"Ping", func() error { return s.Ping(t.Context()) }},
		{"Session", func() error { _, err := s.Session(t.Context(), first.ID); return err }},
		{"TouchSession", func() error { _, err := s.TouchSession(t.Context(), first.ID, time.Now()); return err }},
		{"CreateSession", func() error {
			_, err := s.CreateSession(t.Context(), newSession(t, p.ID, time.Now()), 5)
			return err
		}},
		{"RotateRefresh", func() error {
			now := time.Now()
			_, err := s.RotateRefresh(t.Context(), first.RefreshHash, hash("new"), now, now.Add(time.Hour), session.ClientInfo{})
			return err
		}},
		{"RevokeSession", func() error {
			_, err := s.RevokeSession(t.Context(), uuid.New(), time.Now(), session.ReasonLogout)
			return err
		}},
		{"DeleteExpired", func() error { _, err := s.DeleteExpired(t.Context(), base); return err }},
	}
	for _, c := range calls {
		start := time.Now()
		err := c.call()
		if !errors.Is(err, session.ErrUnavailable) {
			t.Errorf("cut: %s = %v, want ErrUnavailable", c.name, err)
		}
		if d := time.Since(start); d > timeout+time.Second {
			t.Errorf("cut: %s took %v, want at most about the timeout %v", c.name, d, timeout)
		}
	}

	// Revoked while the listener's connection is down: its NOTIFY is lost,
	// the re-read after the reconnect must deliver it.
	if _, err := direct.RevokeSession(t.Context(), first.ID, time.Now(), session.ReasonAdmin); err != nil {
		t.Fatalf("RevokeSession through the direct store: %v", err)
	}
	px.Restore()

	want := session.Revocation{SessionID: first.ID, PlayerID: p.ID, Reason: session.ReasonAdmin}
	if got := w.waitFor(t, first.ID, 10*time.Second); got != want {
		t.Errorf("after reconnect Watch got %+v, want %+v", got, want)
	}
	// The pool may hand out one connection that died in the cut before it
	// notices: calls succeed again within a few attempts.
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := s.Session(t.Context(), first.ID)
		if err == nil {
			if got.RevokedReason != session.ReasonAdmin {
				t.Errorf("Session after restore: revoked for %q, want %q", got.RevokedReason, session.ReasonAdmin)
			}
			break
		}
		if !isUnavailable(err) || time.Now().After(deadline) {
			t.Fatalf("Session after restore = %v", err)
		}
	}
	if _, err := s.CreateSession(t.Context(), newSession(t, p.ID, time.Now()), 5); err != nil {
		t.Errorf("CreateSession after restore: %v", err)
	}
}

// lockRows begins a transaction on a connection of its own that locks the
// rows sql selects (FOR UPDATE), and keeps them locked until the test ends:
// store calls that need those rows wait on PostgreSQL's lock, inside their
// transaction.
func lockRows(t *testing.T, u, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) }) // ends the transaction
	if _, err := conn.Exec(t.Context(), "BEGIN"); err != nil {
		t.Fatalf("begin: %v", err)
	}
	if _, err := conn.Exec(t.Context(), sql+" FOR UPDATE", args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// Calls whose transaction waits on a lock held elsewhere end at the store's
// timeout, even when the caller's context has no deadline.
func TestTimeoutBoundsTransactions(t *testing.T) {
	u := pgtest.Schema(t)
	const timeout = 300 * time.Millisecond
	s := openStore(t, u, postgres.Options{Timeout: timeout})
	p, first := newPlayer(t, s, base)
	// An expired session of p for DeleteExpired, which then waits for p's
	// row.
	pgtest.Exec(t, u, `INSERT INTO sessions (id, player_id, created_at, last_seen_at, expires_at, max_expires_at, refresh_hash)
		VALUES (gen_random_uuid(), $1, $2, $2, $2, $2, uuid_send(gen_random_uuid()))`, p.ID, base)
	lockRows(t, u, `SELECT * FROM players WHERE id = $1`, p.ID)
	lockRows(t, u, `SELECT * FROM sessions WHERE id = $1`, first.ID)

	calls := []struct {
		name string
		call func() error
	}{
		{"CreateSession", func() error {
			_, err := s.CreateSession(t.Context(), newSession(t, p.ID, base), 5)
			return err
		}},
		{"RotateRefresh", func() error {
			now := base.Add(time.Minute)
			_, err := s.RotateRefresh(t.Context(), first.RefreshHash, hash(randomHex(t, 16)), now, now.Add(time.Hour), session.ClientInfo{})
			return err
		}},
		{"DeleteExpired", func() error {
			_, err := s.DeleteExpired(t.Context(), base.Add(time.Minute))
			return err
		}},
	}
	for _, c := range calls {
		start := time.Now()
		err := c.call()
		if !isUnavailable(err) {
			t.Errorf("%s waiting on a lock = %v, want ErrUnavailable", c.name, err)
		}
		if d := time.Since(start); d > timeout+time.Second {
			t.Errorf("%s took %v, want about the timeout %v", c.name, d, timeout)
		}
	}
}

// A caller that gives up is not a database outage: its calls fail with
// context.Canceled, not ErrUnavailable; its deadline still is one.
func TestCallerCancelIsNotUnavailable(t *testing.T) {
	u := pgtest.Schema(t)
	s := openStore(t, u, postgres.Options{Timeout: 10 * time.Second})
	p, first := newPlayer(t, s, base)
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Ping", func(ctx context.Context) error { return s.Ping(ctx) }},
		{"Session", func(ctx context.Context) error { _, err := s.Session(ctx, first.ID); return err }},
		{"CreateSession", func(ctx context.Context) error {
			_, err := s.CreateSession(ctx, newSession(t, p.ID, base), 5)
			return err
		}},
		{"RevokePlayerSessions", func(ctx context.Context) error {
			_, err := s.RevokePlayerSessions(ctx, p.ID, base, session.ReasonAdmin)
			return err
		}},
	}
	for _, c := range calls {
		err := c.call(canceled)
		if !errors.Is(err, context.Canceled) || isUnavailable(err) {
			t.Errorf("%s(canceled context) = %v, want context.Canceled and not ErrUnavailable", c.name, err)
		}
		expired, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
		err = c.call(expired)
		cancel()
		if !isUnavailable(err) {
			t.Errorf("%s(context past its deadline) = %v, want ErrUnavailable", c.name, err)
		}
	}

	// Canceled while the transaction waits on a lock.
	lockRows(t, u, `SELECT * FROM players WHERE id = $1`, p.ID)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stop := time.AfterFunc(100*time.Millisecond, cancel) // the client hangs up
	defer stop.Stop()
	start := time.Now()
	_, err := s.CreateSession(ctx, newSession(t, p.ID, base), 5)
	if !errors.Is(err, context.Canceled) || isUnavailable(err) {
		t.Errorf("CreateSession canceled while waiting = %v, want context.Canceled and not ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("CreateSession canceled after 100ms returned after %v", d)
	}
}

// TouchSessions skips a row another transaction holds instead of waiting
// for it (a touch is advisory), and touches the others.
func TestTouchSessionsSkipsLockedRows(t *testing.T) {
	u := pgtest.Schema(t)
	const timeout = 300 * time.Millisecond
	s := openStore(t, u, postgres.Options{Timeout: timeout})
	p, locked := newPlayer(t, s, base)
	free := newSession(t, p.ID, base)
	if _, err := s.CreateSession(t.Context(), free, 0); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	lockRows(t, u, `SELECT * FROM sessions WHERE id = $1`, locked.ID)
	at := base.Add(5 * time.Minute)
	if err := s.TouchSessions(t.Context(), []uuid.UUID{locked.ID, free.ID}, at); err != nil {
		t.Fatalf("TouchSessions with a locked row = %v, want nil (skipped, not waited for)", err)
	}
	got, err := s.Session(t.Context(), free.ID)
	if err != nil {
		t.Fatalf("Session: %v", err)
	}
	if !got.LastSeenAt.Equal(at) {
		t.Errorf("LastSeenAt of the unlocked session = %v, want %v", got.LastSeenAt, at)
	}
}
