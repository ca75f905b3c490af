package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/bigtwo/gateway/session"
	"github.com/bigtwo/gateway/store/memory"
	"github.com/bigtwo/gateway/store/postgres"
)

// backend is what the binary needs of a store: the session.Store, its
// revocation feed, a readiness ping and Close.
type backend interface {
	session.Store
	Watch(ctx context.Context, fn func(session.Revocation), ready func()) error
	Ping(ctx context.Context) error
	// Listening reports whether the revocation feed is connected.
	Listening() bool
	Close() error
}

// migrateTimeout bounds connecting, waiting for the migration lock and
// migrating at start-up and in `gateway migrate`.
const migrateTimeout = 60 * time.Second

// openStore opens the memory store, or PostgreSQL (migrated) when a database
// URL is configured.
// The pool's metrics go to reg.
func openStore(ctx context.Context, cfg config, log zerolog.Logger, reg prometheus.Registerer) (backend, error) {
	if cfg.DatabaseURL == "" {
		log.Info().Msg("using the memory store: sessions live and die with this process")
		return memory.New(), nil
	}
	if err := migrate(ctx, cfg, log); err != nil {
		return nil, err
	}
	opts := postgres.Options{
		Timeout:  cfg.StoreTimeout,
		MaxConns: int32(cfg.DBMaxConns),
		NodeName: cfg.NodeName,
		Logger:   log.With().Str("component", "postgres").Logger(),
	}
	if cfg.AuthFastPath {
		// The fast path's revoked set must hold, from the first socket,
		// every revocation a token still valid may meet.
		opts.FirstReread = session.FeedReach(cfg.TokenTTL)
	}
	st, err := postgres.Open(ctx, cfg.DatabaseURL, opts)
	if err != nil {
		return nil, fmt.Errorf("GATEWAY_DATABASE_URL: %w", err)
	}
	registerPoolMetrics(reg, st.PoolStat)
	return st, nil
}

// migrate applies the PostgreSQL migrations (under a lock, so several
// processes may start at once) and returns.
func migrate(ctx context.Context, cfg config, log zerolog.Logger) error {
	if cfg.DatabaseURL == "" {
		return errors.New("GATEWAY_DATABASE_URL: required by gateway migrate")
	}
	ctx, cancel := context.WithTimeout(ctx, migrateTimeout)
	defer cancel()
	if err := postgres.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return fmt.Errorf("GATEWAY_DATABASE_URL: migrate: %w", err)
	}
	log.Info().Msg("database schema up to date")
	return nil
}
