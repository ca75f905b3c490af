package postgres_test

import (
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/bigtwo/gateway/store/postgres"
	"github.com/bigtwo/gateway/store/postgres/pgtest"
)

// TestApplicationName: pg_stat_activity tells the pool's connections from
// the revocation listener's, and names the node.
func TestApplicationName(t *testing.T) {
	u := pgtest.Schema(t)
	node := "node-" + randomHex(t, 4)
	s := openStore(t, u, postgres.Options{NodeName: node}) // Migrate leaves a pool connection idle
	watch(t, s)                                            // the listener is connected once ready
	conn, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	rows, err := conn.Query(t.Context(), `SELECT application_name FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"gateway " + node + " pool", "gateway " + node + " listen"} {
		if !slices.Contains(got, want) {
			t.Errorf("application names = %q, want one %q", got, want)
		}
	}
}
