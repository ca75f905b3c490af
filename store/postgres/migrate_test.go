package postgres_test

import (
	"sync"
	"testing"

	"github.com/bigtwo/gateway/store/postgres"
	"github.com/bigtwo/gateway/store/postgres/pgtest"
)

func TestMigrateTwiceIsNoop(t *testing.T) {
	u := pgtest.Schema(t)
	if err := postgres.Migrate(t.Context(), u); err != nil {
		t.Fatalf("first Migrate: %v", err)
	}
	applied := pgtest.Exec(t, u, `SELECT 1 FROM schema_migrations`)
	if applied == 0 {
		t.Fatal("no migration recorded")
	}
	if err := postgres.Migrate(t.Context(), u); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if got := pgtest.Exec(t, u, `SELECT 1 FROM schema_migrations`); got != applied {
		t.Errorf("second Migrate: %d migrations recorded, want still %d", got, applied)
	}
	// The schema works after both runs.
	s := openStore(t, u, postgres.Options{})
	newPlayer(t, s, base)
}

func TestMigrateConcurrently(t *testing.T) {
	u := pgtest.Schema(t)
	const n = 4
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = postgres.Migrate(t.Context(), u) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate %d: %v", i, err)
		}
	}
	s := openStore(t, u, postgres.Options{})
	newPlayer(t, s, base)
}

// TestMigrateTakesPoolParameters: pgxpool's own URL parameters
// (pool_max_conns, ...) configure the store's pool; the migration, which
// connects alone, must not send them to PostgreSQL as settings.
func TestMigrateTakesPoolParameters(t *testing.T) {
	u := pgtest.Schema(t) + "&pool_max_conns=7&pool_min_conns=1&pool_max_conn_lifetime=1h"
	if err := postgres.Migrate(t.Context(), u); err != nil {
		t.Fatalf("Migrate(%s): %v", u, err)
	}
	s := openStore(t, u, postgres.Options{})
	if got := s.MaxConns(); got != 7 {
		t.Errorf("MaxConns() = %d, want the URL's 7", got)
	}
	newPlayer(t, s, base)
}

// TestPoolSize: the pool holds defaultMaxConns connections unless the URL
// (pool_max_conns) or Options.MaxConns, which wins, says otherwise.
// pgxpool's own default, max(4, CPUs), was the bottleneck of the churn
// soak (docs/PERFORMANCE.md).
func TestPoolSize(t *testing.T) {
	u := pgtest.Schema(t)
	for _, tt := range []struct {
		name string
		url  string
		opts postgres.Options
		want int32
	}{
		{"default", u, postgres.Options{}, 16},
		{"url", u + "&pool_max_conns=5", postgres.Options{}, 5},
		{"option wins", u + "&pool_max_conns=5", postgres.Options{MaxConns: 9}, 9},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := openStore(t, tt.url, tt.opts).MaxConns(); got != tt.want {
				t.Errorf("MaxConns() = %d, want %d", got, tt.want)
			}
		})
	}
}
