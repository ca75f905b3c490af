package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"

	"github.com/bigtwo/gateway/session"
)

// revocationChannel is the NOTIFY channel the sessions' trigger publishes
// revocations on (see migrations/0001_init.sql), and Watch its heartbeats.
const revocationChannel = "session_revoked"

// missedMargin widens every re-read: a revocation stamped this long before
// the listener last started listening (or before Watch was called) may have
// committed after that. It is far more than any store call lasts.
const missedMargin = time.Minute

// rereadPage is how many revocations one query of a re-read returns; each
// page is bounded by the store's timeout, so a long first re-read
// (Options.FirstReread) is not cut short by it.
const rereadPage = 5000

// revocationPayload is the JSON the trigger sends, or a heartbeat.
type revocationPayload struct {
	SessionID uuid.UUID `json:"session_id"`
	PlayerID  uuid.UUID `json:"player_id"`
	Reason    string    `json:"reason"`
	Schema    string    `json:"schema"`
	// At is revoked_db_at as PostgreSQL formats it in JSON (for a heartbeat,
	// the database's clock when it was sent); kept as text so that an
	// unexpected format loses only the hint, not the revocation.
	At string `json:"at"`
	// Heartbeat is the id of the Watch call that sent this heartbeat,
	// empty in a revocation; Sent is when it sent it, in nanoseconds since
	// that Watch call started, by its process's monotonic clock. A
	// heartbeat has no Schema, so that gateways that predate heartbeats
	// ignore them as another schema's news rather than deliver an empty
	// revocation.
	Heartbeat string `json:"heartbeat"`
	Sent      int64  `json:"sent"`
}

// Watch calls fn with every revocation made through any store on the same
// database and schema, other processes included, from the time ready (which
// may be nil) is called until ctx ends; then it returns nil.
//
// It listens on a connection of its own, reconnecting after
// Options.ListenReconnectDelay when it loses it. Each time a connection
// starts listening, the first one included, it re-reads the revocations it
// may have missed (the first connection since Options.FirstReread before
// Watch was called; later ones since the last connection started listening,
// less missedMargin) and delivers them too, so fn may see a revocation
// twice, or one made before Watch was called. fn is called from Watch's
// goroutine, one call at a time, and must not block for long. ready is
// called once, when the first connection is listening and has delivered
// what it re-read; Listening tells whether a connection is up afterwards.
//
// Every Options.Heartbeat, and as soon as a connection has caught up, Watch
// sends a heartbeat on the same channel through the pool; when its own
// heartbeat comes back on a connection that has caught up, every revocation
// committed before it was sent has been delivered (NOTIFY delivers in commit
// order), and Synced moves to the time it was sent. Other listeners ignore
// heartbeats. The heartbeats are sent from one goroutine that Watch starts
// and waits for before it returns.
func (s *Store) Watch(ctx context.Context, fn func(session.Revocation), ready func()) error {
	w := &watcher{store: s, fn: fn, ready: ready, started: time.Now(), id: uuid.NewString(), kick: make(chan struct{}, 1)}
	s.watchMu.Lock()
	s.watch[w] = struct{}{}
	s.watchMu.Unlock()
	defer func() {
		s.watchMu.Lock()
		delete(s.watch, w)
		s.watchMu.Unlock()
	}()
	defer w.setListening(false)

	beatCtx, stopBeats := context.WithCancel(ctx)
	var beats sync.WaitGroup
	beats.Go(func() { w.beat(beatCtx) })
	defer beats.Wait()
	defer stopBeats()

	l := &pgxlisten.Listener{
		Connect:        w.connect,
		LogError:       w.logError,
		ReconnectDelay: s.listenReconnectDelay,
	}
	l.Handle(revocationChannel, w)
	err := l.Listen(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("watch revocations: %w", err)
}

// Listening reports whether a Watch call is listening: its connection is up
// and has re-read what it may have missed. It is false before the first
// connection listens, from the moment a Watch call notices its connection is
// lost until it has reconnected, and when no Watch call runs; a connection
// that hangs without failing (a silent network) is noticed only when it
// fails (Synced, which stops moving, tells it sooner). With several Watch
// calls it is true while any of them listens. Readiness probes use it:
// while it is false, revocations made in other processes are not delivered
// (they are, late, once it is true again). It is safe for concurrent use.
func (s *Store) Listening() bool { return s.listening.Load() > 0 }

// Synced returns the latest time T, by this process's clock (with its
// monotonic reading), such that every revocation committed before T has
// been delivered to the Watch callbacks: when a Watch call's own heartbeat,
// sent at T, came back on a connection that had re-read what it missed. It
// is the zero time when no Watch call runs, before the first heartbeat comes
// back, and from the moment a Watch call notices its connection is lost
// until a heartbeat comes back on the next one; with several Watch calls it
// is the least of theirs (zero if any is zero). While the feed is healthy
// it trails the clock by about Options.Heartbeat; a feed that hangs in
// silence leaves it behind. It is safe for concurrent use.
func (s *Store) Synced() time.Time {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	var least time.Time
	for w := range s.watch {
		t := w.syncedAt()
		if t.IsZero() {
			return time.Time{}
		}
		if least.IsZero() || t.Before(least) {
			least = t
		}
	}
	return least
}

// watcher is one Watch call's state, used only from its goroutine (pgxlisten
// calls its handlers synchronously), but for synced, kick and the read-only
// fields, which the heartbeat goroutine and Synced use too.
type watcher struct {
	store *Store
	fn    func(session.Revocation)
	ready func()
	// started is when Watch was called, by the local monotonic clock: the
	// first re-read starts that long before the database's clock when the
	// first connection listens, so clock skew does not matter. Heartbeats
	// carry their send time as an offset from it.
	started time.Time
	// id tells this Watch call's heartbeats from every other's.
	id string
	// synced is the Sent of the latest own heartbeat that came back while
	// listening, 0 for none (see Synced).
	synced atomic.Int64
	// kick asks the heartbeat goroutine for a heartbeat now. One slot: a
	// kick already pending covers a second one, which is dropped.
	kick chan struct{}

	// conn is the latest connection connect returned, nil before the first.
	conn *pgx.Conn
	// listening is whether this watcher counts in store.listening: its
	// current connection has re-read what it may have missed.
	listening bool
	// schema is the listening connection's schema: notifications from
	// other schemas of the database are ignored.
	schema string
	// since is the database's clock when the current or last connection
	// started listening, advanced by each notification's time: anything
	// revoked before since-missedMargin was delivered. Zero before the first
	// connection listens.
	since time.Time
}

var _ pgxlisten.BacklogHandler = (*watcher)(nil)

// syncedAt is synced as a time: zero, or started plus the offset.
func (w *watcher) syncedAt() time.Time {
	n := w.synced.Load()
	if n == 0 {
		return time.Time{}
	}
	return w.started.Add(time.Duration(n))
}

// connect opens the listener's dedicated connection, within the store's
// timeout. The previous connection, if any, is gone by now.
func (w *watcher) connect(ctx context.Context) (*pgx.Conn, error) {
	w.setListening(false)
	ctx, cancel := w.store.bound(ctx)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, w.store.connConfig)
	if err != nil {
		return nil, err
	}
	w.conn = conn
	return conn, nil
}

// logError logs the listener's errors, which it recovers from by
// reconnecting; the end of the Watch's context is not worth a line. The
// listener closes a connection it gives up on before reporting why, so a
// closed connection here means this watcher stopped listening.
func (w *watcher) logError(ctx context.Context, err error) {
	if w.conn != nil && w.conn.IsClosed() {
		w.setListening(false)
	}
	if ctx.Err() != nil {
		return
	}
	w.store.log.Warn().Err(err).Msg("revocation listener")
}

// setListening records whether this watcher listens, in the store's count.
// Not listening, it is not synced either: what is committed from now on
// may be missed until the next connection has re-read it.
func (w *watcher) setListening(on bool) {
	if !on {
		w.synced.Store(0)
	}
	if on == w.listening {
		return
	}
	w.listening = on
	if on {
		w.store.listening.Add(1)
	} else {
		w.store.listening.Add(-1)
	}
}

// HandleBacklog runs once the connection listens: it learns the schema and
// the database's clock, re-reads and delivers the revocations that may have
// been missed (since Options.FirstReread before Watch was called, for the
// first connection), and only then moves since, counts as listening and
// asks for a heartbeat. When it fails it closes the connection, so that the
// listener reconnects and tries again rather than listen without having
// caught up.
func (w *watcher) HandleBacklog(ctx context.Context, _ string, conn *pgx.Conn) error {
	err := w.backlog(ctx, conn)
	if err != nil {
		conn.Close(ctx) //nolint:errcheck // the error to report is err
	}
	return err
}

// backlog does HandleBacklog's work.
func (w *watcher) backlog(ctx context.Context, conn *pgx.Conn) error {
	var schema string
	var now time.Time
	qctx, cancel := w.store.bound(ctx)
	err := conn.QueryRow(qctx, `SELECT current_schema(), clock_timestamp()`).Scan(&schema, &now)
	cancel()
	if err != nil {
		return fmt.Errorf("listener clock: %w", err)
	}
	w.schema = schema
	from := w.since.Add(-missedMargin)
	if w.since.IsZero() {
		// From FirstReread before Watch was called, by the database's clock.
		from = now.Add(-time.Since(w.started) - w.store.firstReread)
	}
	if err := w.reread(ctx, conn, from); err != nil {
		return err
	}
	first := w.since.IsZero()
	w.since = now
	w.setListening(true)
	select {
	case w.kick <- struct{}{}:
	default:
	}
	if first && w.ready != nil {
		w.ready()
	}
	return nil
}

// reread delivers every revocation stamped at or after from, oldest first,
// rereadPage at a time, each page within the store's timeout.
func (w *watcher) reread(ctx context.Context, conn *pgx.Conn, from time.Time) error {
	afterID := uuid.Nil
	for {
		qctx, cancel := w.store.bound(ctx)
		rows, err := conn.Query(qctx, `SELECT id, player_id, revoked_reason, revoked_db_at FROM sessions
			WHERE revoked_db_at >= $1::timestamptz AND (revoked_db_at, id) > ($1::timestamptz, $2::uuid)
			ORDER BY revoked_db_at, id LIMIT $3`, from, afterID, rereadPage)
		if err != nil {
			cancel()
			return fmt.Errorf("re-read revocations: %w", err)
		}
		var last time.Time
		page, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (session.Revocation, error) {
			var r session.Revocation
			err := row.Scan(&r.SessionID, &r.PlayerID, &r.Reason, &last)
			return r, err
		})
		cancel()
		if err != nil {
			return fmt.Errorf("re-read revocations: %w", err)
		}
		for _, r := range page {
			w.fn(r)
		}
		if len(page) < rereadPage {
			return nil
		}
		from, afterID = last, page[len(page)-1].SessionID
	}
}

// HandleNotification delivers one revocation of this schema, or records
// one of this watcher's heartbeats.
func (w *watcher) HandleNotification(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	var p revocationPayload
	if err := json.Unmarshal([]byte(n.Payload), &p); err != nil {
		return fmt.Errorf("revocation payload %q: %w", n.Payload, err)
	}
	// Only a connection that has caught up moves since and synced: pgx
	// hands out the notifications it buffered during a re-read even after
	// a failed re-read closed the connection, and those prove nothing about
	// what the re-read did not reach.
	if at, err := time.Parse(time.RFC3339Nano, p.At); err == nil && at.After(w.since) && w.listening {
		w.since = at
	}
	if p.Heartbeat != "" {
		if p.Heartbeat == w.id && w.listening && p.Sent > w.synced.Load() {
			w.synced.Store(p.Sent)
		}
		return nil
	}
	if p.Schema != w.schema {
		return nil
	}
	w.fn(session.Revocation{SessionID: p.SessionID, PlayerID: p.PlayerID, Reason: p.Reason})
	return nil
}

// beat sends a heartbeat at once, then every Options.Heartbeat and
// whenever kicked, until ctx ends.
func (w *watcher) beat(ctx context.Context) {
	t := time.NewTicker(w.store.heartbeat)
	defer t.Stop()
	for {
		w.sendHeartbeat(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.kick:
		}
	}
}

// sendHeartbeat notifies the revocation channel of a heartbeat of this
// watcher, within the store's timeout. Its send time is taken before it
// waits for a pool connection: a heartbeat that comes back proves that
// every revocation committed before that time was delivered. A failed one
// is only logged at debug level: the listener reports the outage, and the
// heartbeat stops proving anything, which is its purpose.
func (w *watcher) sendHeartbeat(ctx context.Context) {
	sent := max(int64(time.Since(w.started)), 1)
	ctx, cancel := w.store.bound(ctx)
	defer cancel()
	_, err := w.store.pool.Exec(ctx, `SELECT pg_notify($1, json_build_object(
		'heartbeat', $2::text, 'sent', $3::bigint, 'at', clock_timestamp())::text)`,
		revocationChannel, w.id, sent)
	if err != nil && ctx.Err() != context.Canceled {
		w.store.log.Debug().Err(err).Msg("revocation feed heartbeat")
	}
}
