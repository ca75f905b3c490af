package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/bigtwo/gateway/session"
	"github.com/bigtwo/gateway/store/postgres"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
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
