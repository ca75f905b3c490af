package pgtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/bigtwo/gateway/store/postgres/pgtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestHostOf(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"with port", "postgres://u@db.example:6543/test?sslmode=disable", "db.example:6543"},
		{"default port", "postgres://u@db.example/test", "db.example:5432"},
		{"ipv6", "postgres://u@[::1]:5433/test", "[::1]:5433"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pgtest.HostOf(t, tc.in); got != tc.want {
				t.Errorf("HostOf(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestWithHost(t *testing.T) {
	for _, tc := range []struct {
		name, in, addr, want string
	}{
		{"keeps the rest", "postgres://u:pw@db:5432/test?sslmode=disable&search_path=t_x", "127.0.0.1:40000",
			"postgres://u:pw@127.0.0.1:40000/test?sslmode=disable&search_path=t_x"},
		{"adds a port", "postgresql://db/test", "127.0.0.1:1", "postgresql://127.0.0.1:1/test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pgtest.WithHost(t, tc.in, tc.addr); got != tc.want {
				t.Errorf("WithHost(%q, %q) = %q, want %q", tc.in, tc.addr, got, tc.want)
			}
		})
	}
}

// TestSchema runs only with a database: Schema's URL selects a schema that
// exists, and the schema is gone once the test that made it has ended.
func TestSchema(t *testing.T) {
	base := pgtest.DatabaseURL(t)
	var schema string
	if !t.Run("fresh", func(t *testing.T) {
		schema = queryRow[string](t, pgtest.Schema(t), "SELECT current_schema()")
		if !strings.HasPrefix(schema, "t_") {
			t.Errorf("current_schema() on Schema's URL = %q, want a fresh t_... schema", schema)
		}
	}) {
		return
	}
	const exists = "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1"
	if n := queryRow[int64](t, base, exists, schema); n != 0 {
		t.Errorf("schema %q still exists after its test ended", schema)
	}
}

// queryRow runs a one-value query on a connection of its own to u.
func queryRow[T any](t *testing.T, u, sql string, args ...any) T {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.WithoutCancel(t.Context()))
	var v T
	if err := conn.QueryRow(t.Context(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}
