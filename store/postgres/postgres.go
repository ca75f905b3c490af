package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/bigtwo/gateway/session"
)

// Options tunes a Store; zero values mean the defaults.
type Options struct {
	// Timeout bounds every store call (each batch of DeleteExpired), on top
	// of the caller's context, and each attempt to connect, so that a dead
	// database fails calls fast. Defaults to 2s.
	Timeout time.Duration
	// ListenReconnectDelay is how long Watch waits before reconnecting after
	// losing its connection. Defaults to 1s.
	ListenReconnectDelay time.Duration
	// Heartbeat is how often each Watch call sends a heartbeat on the
	// revocation channel, through the pool, and so how often Synced moves
	// forward while the feed is healthy. Defaults to 1s.
	Heartbeat time.Duration
	// FirstReread is how far before Watch was called the re-read of its
	// first connection reaches (later connections re-read from where the
	// previous one left off). Defaults to, and is never less than, one
	// minute. A process that lets sockets in on their access token alone
	// while the feed is synced (session.Options.Feed) must know every
	// revocation a token still valid may meet, so it sets
	// session.FeedReach(token lifetime).
	FirstReread time.Duration
	// MaxConns caps the pool. Defaults to the URL's pool_max_conns, else
	// DefaultMaxConns.
	MaxConns int32
	// NodeName names this process in the application_name of its
	// connections, "gateway <node> pool" and "gateway <node> listen", so
	// that pg_stat_activity tells the listener from the pool and one
	// gateway from another. Empty means "gateway pool", "gateway listen".
	NodeName string
	// Logger receives the listener's connection errors. The zero Logger
	// discards them.
	Logger zerolog.Logger
}

// DefaultMaxConns is the pool's size unless configured. pgxpool's own
// default, max(4, CPUs), sizes the pool for work that keeps a CPU busy, but
// a store call mostly waits (network round trips: a refresh takes six, the
// commit's WAL flush, row locks), so four connections were the bottleneck
// of the churn soak on a 2-CPU machine: calls queued for a connection past
// the store timeout, and each timed-out call cost the pool a connection
// (pgx closes a connection whose query's context ends), which collapsed
// throughput further. 16 gave the same soak its peak with no timeout
// (docs/PERFORMANCE.md) and leaves PostgreSQL's default max_connections
// (100) room for five gateways and operators.
const DefaultMaxConns = 16

// Store is a session.Store on PostgreSQL. It is safe for concurrent use, also
// by several processes sharing the database. Close releases its connections.
type Store struct {
	pool                 *pgxpool.Pool
	connConfig           *pgx.ConnConfig // for Watch's dedicated connections
	timeout              time.Duration
	listenReconnectDelay time.Duration
	heartbeat            time.Duration
	firstReread          time.Duration
	log                  zerolog.Logger
	// listening counts the Watch calls whose connection listens; see
	// Listening.
	listening atomic.Int32

	watchMu sync.Mutex            // guards watch
	watch   map[*watcher]struct{} // the running Watch calls, for Synced
}

var _ session.Store = (*Store)(nil)

// Open returns a Store on the database at url (a PostgreSQL URL or key=value
// string; a search_path parameter selects the schema). It does not connect
// before the first call and does not migrate: call Migrate for that.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.ListenReconnectDelay <= 0 {
		opts.ListenReconnectDelay = time.Second
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = time.Second
	}
	opts.FirstReread = max(opts.FirstReread, missedMargin)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout <= 0 || cfg.ConnConfig.ConnectTimeout > opts.Timeout {
		cfg.ConnConfig.ConnectTimeout = opts.Timeout
	}
	switch {
	case opts.MaxConns > 0:
		cfg.MaxConns = opts.MaxConns
	case !strings.Contains(url, "pool_max_conns"): // in a URL or a key=value string
		cfg.MaxConns = DefaultMaxConns
	}
	prefix := appPrefix(cfg.ConnConfig, opts.NodeName)
	connConfig := cfg.ConnConfig.Copy()
	connConfig.RuntimeParams["application_name"] = prefix + " listen"
	cfg.ConnConfig.RuntimeParams["application_name"] = prefix + " pool"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return &Store{
		pool:                 pool,
		connConfig:           connConfig,
		timeout:              opts.Timeout,
		listenReconnectDelay: opts.ListenReconnectDelay,
		heartbeat:            opts.Heartbeat,
		firstReread:          opts.FirstReread,
		log:                  opts.Logger,
		watch:                make(map[*watcher]struct{}),
	}, nil
}

// maxAppPrefix keeps "<prefix> listen" within PostgreSQL's 63 bytes of
// application_name, which it would otherwise cut, role and all.
const maxAppPrefix = 63 - len(" listen")

// appPrefix is what the store's application names start with: the URL's
// application_name if it has one, else "gateway <node>" ("gateway" without
// a node), cut to maxAppPrefix bytes.
func appPrefix(cfg *pgx.ConnConfig, node string) string {
	prefix := cfg.RuntimeParams["application_name"]
	switch {
	case prefix != "":
	case node != "":
		prefix = "gateway " + node
	default:
		prefix = "gateway"
	}
	if len(prefix) > maxAppPrefix {
		prefix = prefix[:maxAppPrefix]
	}
	return prefix
}

// Close closes the pool, waiting for the connections in use to be returned.
// Watch calls have their own connections: end their contexts.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// MaxConns is the pool's size: Options.MaxConns, else pool_max_conns of
// the URL, else pgxpool's default.
func (s *Store) MaxConns() int32 { return s.pool.Config().MaxConns }

// PoolStat is a snapshot of the pool, for metrics.
type PoolStat struct {
	// Connections by state, and the most there may be.
	MaxConns, IdleConns, AcquiredConns, ConstructingConns int32
	// AcquireCount counts acquisitions since Open; EmptyAcquireCount those
	// that found no idle connection and waited for one; CanceledAcquireCount
	// those whose context ended while waiting. AcquireDuration is the time
	// all acquisitions took, waits included.
	AcquireCount, EmptyAcquireCount, CanceledAcquireCount int64
	AcquireDuration                                       time.Duration
}

// PoolStat returns a snapshot of the pool. It is safe for concurrent use.
func (s *Store) PoolStat() PoolStat {
	st := s.pool.Stat()
	return PoolStat{
		MaxConns: st.MaxConns(), IdleConns: st.IdleConns(), AcquiredConns: st.AcquiredConns(),
		ConstructingConns: st.ConstructingConns(),
		AcquireCount:      st.AcquireCount(), EmptyAcquireCount: st.EmptyAcquireCount(),
		CanceledAcquireCount: st.CanceledAcquireCount(), AcquireDuration: st.AcquireDuration(),
	}
}

// Ping checks that the database answers, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", unavailable(ctx, err))
	}
	return nil
}

// bound applies the store's timeout to ctx.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// inTx runs fn in a transaction bounded by the store's timeout and commits
// it, running it again (within the same time budget) when PostgreSQL aborted
// it for a deadlock or a serialization failure. fn gets the bounded context
// and must make its queries with it.
func (s *Store) inTx(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	for {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(ctx, tx) })
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return unavailable(ctx, err)
		}
	}
}
