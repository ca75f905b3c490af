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

// missedMargin widens the re-read after a reconnect: a revocation stamped
// this long before the listener last started listening may have committed
// after its connection was lost. It is far more than any store call lasts.
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
// Options.ListenReconnectDelay when it loses it; after each reconnect it
// re-reads the revocations it may have missed and delivers them too, so fn
// may see a revocation twice. fn is called from Watch's goroutine, one call
// at a time, and must not block for long. ready is called once, when the
// first connection is listening. Watch starts no goroutine of its own.
func (s *Store) Watch(ctx context.Context, fn func(session.Revocation), ready func()) error {
	w := &watcher{store: s, fn: fn, ready: ready}
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

// watcher is one Watch call's state, used only from its goroutine (pgxlisten
// calls its handlers synchronously).
type watcher struct {
	store *Store
	fn    func(session.Revocation)
	ready func()

	// schema is the listening connection's schema: notifications from
	// other schemas of the database are ignored.
	schema string
	// since is the database's clock when the current or last connection
	// started listening, advanced by each notification's time: anything
	// revoked before since-missedMargin was delivered. Zero before the first
	// connection.
	since time.Time
}

var _ pgxlisten.BacklogHandler = (*watcher)(nil)

// connect opens the listener's dedicated connection, within the store's
// timeout.
func (w *watcher) connect(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := w.store.bound(ctx)
	defer cancel()
	return pgx.ConnectConfig(ctx, w.store.connConfig)
}

// logError logs the listener's errors, which it recovers from by
// reconnecting; the end of the Watch's context is not worth a line.
func (w *watcher) logError(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	w.store.log.Warn().Err(err).Msg("revocation listener")
}

// HandleBacklog runs once the connection listens: it learns the schema and
// the database's clock and, after a reconnect, re-reads and delivers the
// revocations the previous connection may have missed. Only then does since
// move. When it fails it closes the connection, so that the listener
// reconnects and tries again rather than listen without being ready.
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
	if w.since.IsZero() {
		w.since = now
		if w.ready != nil {
			w.ready()
		}
		return nil
	}
	rows, err := conn.Query(ctx, `SELECT id, player_id, revoked_reason FROM sessions
		WHERE revoked_db_at >= $1 ORDER BY revoked_db_at`, w.since.Add(-missedMargin))
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
	w.since = now
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
