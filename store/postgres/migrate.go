package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The migrator is our own rather than pressly/goose: the store needs only
// "apply the embedded files not applied yet, in order, under a lock", which is
// about a hundred lines, whereas goose would add a dependency tree (and a
// database/sql bridge) for features we do not use (down migrations, Go
// migrations, a CLI).

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLockKey is the first half of the advisory lock key taken while
// migrating; the second half is a hash of the schema, so that processes
// migrating one schema wait for each other and other schemas are not held up.
const migrateLockKey = 0x6267_7477 // "bgtw"

// migration is one embedded SQL file, named NNNN_description.sql.
type migration struct {
	version int64
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		prefix, _, ok := strings.Cut(name, "_")
		if !ok || path.Ext(name) != ".sql" {
			return nil, fmt.Errorf("migration %s: name is not NNNN_description.sql", name)
		}
		v, err := strconv.ParseInt(prefix, 10, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: bad version %q", name, prefix)
		}
		b, err := migrationFiles.ReadFile("migrations/" + name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return int(a.version - b.version) })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s: same version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// Migrate connects to the database at url and applies the embedded
// migrations not applied yet to the connection's current schema (the first
// of its search_path). It is idempotent and safe to run from several
// processes at once: one applies the migrations while the others wait for it
// and then find nothing to do. Waiting for that lock, like connecting, is
// bounded only by ctx: give it a deadline. Operators run it with
// `gateway migrate`; the gateway also runs it at start-up.
//
// url is parsed as Open parses it: pgxpool's own parameters (pool_max_conns,
// ...) are accepted and ignored here, not sent to PostgreSQL as settings.
func Migrate(ctx context.Context, url string) error {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "gateway migrate"
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return fmt.Errorf("migrate: %w", unavailable(ctx, err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return migrate(ctx, conn)
}

// Migrate applies the embedded migrations not applied yet, like the
// package-level Migrate, over one of the store's connections.
func (s *Store) Migrate(ctx context.Context) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", unavailable(ctx, err))
	}
	defer c.Release()
	return migrate(ctx, c.Conn())
}

// migrate applies the pending migrations in one transaction, under a
// transaction-level advisory lock: the lock goes with the transaction even
// if the connection dies, and a failed migration leaves nothing half done.
func migrate(ctx context.Context, conn *pgx.Conn) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", unavailable(ctx, err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, migrateLockKey); err != nil {
		return fmt.Errorf("migrate: lock: %w", unavailable(ctx, err))
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    bigint      PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", unavailable(ctx, err))
	}
	rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("migrate: applied versions: %w", unavailable(ctx, err))
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("migrate: applied versions: %w", unavailable(ctx, err))
	}
	for _, m := range ms {
		if slices.Contains(applied, m.version) {
			continue
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("migrate %s: %w", m.name, unavailable(ctx, err))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			return fmt.Errorf("migrate %s: record: %w", m.name, unavailable(ctx, err))
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate: commit: %w", unavailable(ctx, err))
	}
	return nil
}
