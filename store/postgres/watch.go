package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"

	"github.com/bigtwo/gateway/session"
)

// revocationChannel is the NOTIFY channel the sessions' trigger publishes
// revocations on (see migrations/0001_init.sql).
const revocationChannel = "session_revoked"

// missedMargin widens every re-read: a revocation stamped this long before
// the listener last started listening (or before Watch was called) may have
// committed after that. It is far more than any store call lasts.
const missedMargin = time.Minute

// revocationPayload is the JSON the trigger sends.
type revocationPayload struct {
	SessionID uuid.UUID `json:"session_id"`
	PlayerID  uuid.UUID `json:"player_id"`
	Reason    string    `json:"reason"`
	Schema    string    `json:"schema"`
	// At is revoked_db_at as PostgreSQL formats it in JSON; kept as text so
	// that an unexpected format loses only the hint, not the revocation.
	At string `json:"at"`
}

// Watch calls fn with every revocation made through any store on the same
// database and schema, other processes included, from the time ready (which
// may be nil) is called until ctx ends; then it returns nil.
//
// It listens on a connection of its own, reconnecting after
// Options.ListenReconnectDelay when it loses it. Each time a connection
// starts listening, the first one included, it re-reads the revocations it
// may have missed (since Watch was called, or since the last connection
// started listening, each less missedMargin) and delivers them too, so fn
// may see a revocation twice, or one made shortly before Watch was called.
// fn is called from Watch's goroutine, one call at a time, and must not block
// for long. ready is called once, when the first connection is listening and
// has delivered what it re-read; Listening tells whether a connection is up
// afterwards. Watch starts no goroutine of its own.
func (s *Store) Watch(ctx context.Context, fn func(session.Revocation), ready func()) error {
	w := &watcher{store: s, fn: fn, ready: ready, started: time.Now()}
	defer w.setListening(false)
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
// fails. With several Watch calls it is true while any of them listens.
// Readiness probes use it: while it is false, revocations made in other
// processes are not delivered (they are, late, once it is true again). It is
// safe for concurrent use.
func (s *Store) Listening() bool { return s.listening.Load() > 0 }

// watcher is one Watch call's state, used only from its goroutine (pgxlisten
// calls its handlers synchronously).
type watcher struct {
	store *Store
	fn    func(session.Revocation)
	ready func()
	// started is when Watch was called, by the local monotonic clock: the
	// first re-read starts that long before the database's clock when the
	// first connection listens, so clock skew does not matter.
	started time.Time

	// conn is the latest connection connect returned, nil before the first.
	conn *pgx.Conn
	// listening is whether this watcher counts in store.listening.
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
func (w *watcher) setListening(on bool) {
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
// been missed (since Watch was called, for the first connection), and only
// then moves since and counts as listening. When it fails it closes the
// connection, so that the listener reconnects and tries again rather than
// listen without having caught up.
func (w *watcher) HandleBacklog(ctx context.Context, _ string, conn *pgx.Conn) error {
	err := w.backlog(ctx, conn)
	if err != nil {
		conn.Close(ctx) //nolint:errcheck // the error to report is err
	}
	return err
}

// backlog does HandleBacklog's work.
func (w *watcher) backlog(ctx context.Context, conn *pgx.Conn) error {
	ctx, cancel := w.store.bound(ctx)
	defer cancel()
	var schema string
	var now time.Time
	if err := conn.QueryRow(ctx, `SELECT current_schema(), clock_timestamp()`).Scan(&schema, &now); err != nil {
		return fmt.Errorf("listener clock: %w", err)
	}
	w.schema = schema
	since := w.since
	if since.IsZero() {
		// When Watch was called, by the database's clock.
		since = now.Add(-time.Since(w.started))
	}
	rows, err := conn.Query(ctx, `SELECT id, player_id, revoked_reason FROM sessions
		WHERE revoked_db_at >= $1 ORDER BY revoked_db_at`, since.Add(-missedMargin))
	if err != nil {
		return fmt.Errorf("re-read revocations: %w", err)
	}
	missed, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (session.Revocation, error) {
		var r session.Revocation
		err := row.Scan(&r.SessionID, &r.PlayerID, &r.Reason)
		return r, err
	})
	if err != nil {
		return fmt.Errorf("re-read revocations: %w", err)
	}
	for _, r := range missed {
		w.fn(r)
	}
	first := w.since.IsZero()
	w.since = now
	w.setListening(true)
	if first && w.ready != nil {
		w.ready()
	}
	return nil
}

// HandleNotification delivers one revocation of this schema.
func (w *watcher) HandleNotification(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	var p revocationPayload
	if err := json.Unmarshal([]byte(n.Payload), &p); err != nil {
		return fmt.Errorf("revocation payload %q: %w", n.Payload, err)
	}
	if at, err := time.Parse(time.RFC3339Nano, p.At); err == nil && at.After(w.since) {
		w.since = at
	}
	if p.Schema != w.schema {
		return nil
	}
	w.fn(session.Revocation{SessionID: p.SessionID, PlayerID: p.PlayerID, Reason: p.Reason})
	return nil
}
