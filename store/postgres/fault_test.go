package postgres_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/google/uuid"

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
