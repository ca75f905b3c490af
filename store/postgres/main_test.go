package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/bigtwo/gateway/session"
	"github.com/bigtwo/gateway/store/postgres"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// databaseURL returns GATEWAY_TEST_DATABASE_URL, or skips the test when it is
// not set.
func databaseURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("GATEWAY_TEST_DATABASE_URL")
	if u == "" {
		t.Skip("GATEWAY_TEST_DATABASE_URL is not set: skipping the PostgreSQL tests " +
			"(e.g. GATEWAY_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return u
}

// newSchema creates an empty schema of its own for the test and returns the
// database URL with its search_path set to it. The schema is dropped when
// the test ends. The test fails (not skips) when the database is set but
// unusable.
func newSchema(t *testing.T) string {
	t.Helper()
	base := databaseURL(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("GATEWAY_TEST_DATABASE_URL is set but unusable: %v", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	name := "t_" + randomHex(t, 8)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("create schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		// t.Context() has ended by now.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return withSearchPath(t, base, name)
}

// withSearchPath returns the connection string base selecting schema.
func withSearchPath(t *testing.T, base, schema string) string {
	t.Helper()
	if !strings.HasPrefix(base, "postgres://") && !strings.HasPrefix(base, "postgresql://") {
		return base + " search_path=" + schema // key=value form
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse GATEWAY_TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// withHost returns the URL u with its host:port replaced by addr.
func withHost(t *testing.T, u, addr string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		t.Fatalf("this test needs GATEWAY_TEST_DATABASE_URL in URL form, got %q", u)
	}
	p.Host = addr
	return p.String()
}

// hostOf returns the host:port of the URL u.
func hostOf(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		t.Fatalf("this test needs GATEWAY_TEST_DATABASE_URL in URL form, got %q", u)
	}
	if p.Port() == "" {
		return p.Host + ":5432"
	}
	return p.Host
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// openStore opens a store on u, migrates it and closes it when the test
// ends.
func openStore(t *testing.T, u string, opts postgres.Options) *postgres.Store {
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

// watcher is a running Watch whose revocations arrive on a channel.
type watcher struct {
	revocations chan session.Revocation
}

// watch runs s.Watch until the test ends and returns once it is listening.
func watch(t *testing.T, s *postgres.Store) *watcher {
	t.Helper()
	// Big enough for any test here; a full channel fails the test rather
	// than block Watch.
	w := &watcher{revocations: make(chan session.Revocation, 1000)}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	var wg sync.WaitGroup
	var watchErr error
	wg.Go(func() {
		watchErr = s.Watch(ctx, func(r session.Revocation) {
			select {
			case w.revocations <- r:
			default:
				t.Errorf("revocation channel full, dropped %+v", r)
			}
		}, func() { close(ready) })
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		if watchErr != nil {
			t.Errorf("Watch = %v, want nil after its context ended", watchErr)
		}
	})
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("Watch not ready within 10s")
	}
	return w
}

// waitFor waits up to d for the revocation of session id, skipping others.
func (w *watcher) waitFor(t *testing.T, id uuid.UUID, d time.Duration) session.Revocation {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case r := <-w.revocations:
			if r.SessionID == id {
				return r
			}
		case <-deadline:
			t.Fatalf("no revocation of session %s within %v", id, d)
		}
	}
}

// isUnavailable is errors.Is(err, session.ErrUnavailable).
func isUnavailable(err error) bool { return errors.Is(err, session.ErrUnavailable) }
