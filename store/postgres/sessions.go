package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bigtwo/gateway/session"
)

// sessionColumns are the columns scanSession reads, from sessions aliased s
// joined with players aliased p.
const sessionColumns = `s.id, s.player_id, p.username, s.created_at, s.last_seen_at, s.expires_at,
	s.max_expires_at, s.revoked_at, s.revoked_reason, s.ip, s.user_agent, s.refresh_hash`

// formerHashes is how many of a session's former refresh hashes the store
// remembers, the newest ones: presenting one of them is reuse and revokes the
// session, presenting an older one is ErrNotFound like any unknown hash. It
// bounds what one session can store by refreshing in a loop. It matches
// storetest.FormerHashes (the conformance suite checks it) and
// migrations/0002_former_hash_order.sql.
const formerHashes = 32

// deleteBatch is how many expired sessions one DeleteExpired transaction
// deletes: small enough to hold few locks for little time.
const deleteBatch = 1000

// scanSession reads one row of sessionColumns.
func scanSession(row pgx.Row) (session.Session, error) {
	var s session.Session
	var revokedAt *time.Time
	err := row.Scan(&s.ID, &s.PlayerID, &s.Username, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt,
		&s.MaxExpiresAt, &revokedAt, &s.RevokedReason, &s.IP, &s.UserAgent, &s.RefreshHash)
	if err != nil {
		return session.Session{}, err
	}
	s.CreatedAt = s.CreatedAt.UTC()
	s.LastSeenAt = s.LastSeenAt.UTC()
	s.ExpiresAt = s.ExpiresAt.UTC()
	s.MaxExpiresAt = s.MaxExpiresAt.UTC()
	if revokedAt != nil {
		s.RevokedAt = revokedAt.UTC()
	}
	return s, nil
}

// collectSessions reads every row of rows with scanSession.
func collectSessions(rows pgx.Rows) ([]session.Session, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (session.Session, error) {
		return scanSession(row)
	})
}

// nullTime is nil for the zero time, so that it is stored as NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// insertSession is the INSERT of a session's row, arguments in the order of
// sessionArgs.
const insertSession = `INSERT INTO sessions (id, player_id, created_at, last_seen_at, expires_at,
	max_expires_at, revoked_at, revoked_reason, ip, user_agent, refresh_hash)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`

// sessionArgs are the arguments of insertSession for s, its client as
// recorded (PostgreSQL refuses text that is not UTF-8).
func sessionArgs(s session.Session) []any {
	s = s.Recorded()
	return []any{s.ID, s.PlayerID, s.CreatedAt, s.LastSeenAt, s.ExpiresAt,
		s.MaxExpiresAt, nullTime(s.RevokedAt), s.RevokedReason, s.IP, s.UserAgent, s.RefreshHash}
}

// CreatePlayer stores p and its first session in one statement.
func (s *Store) CreatePlayer(ctx context.Context, p session.Player, first session.Session) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	first.PlayerID = p.ID
	// The session's foreign key is checked at the end of the statement, when
	// the player's row is there.
	args := append(sessionArgs(first), p.Username, p.CreatedAt)
	_, err := s.pool.Exec(ctx, `WITH player AS (
			INSERT INTO players (id, username, created_at) VALUES ($2, $12, $13)
		)
		`+insertSession, args...)
	switch {
	case usernameTaken(err):
		return fmt.Errorf("create player %s: %w", p.Username, session.ErrUsernameTaken)
	case err != nil:
		return fmt.Errorf("create player %s: %w", p.ID, unavailable(ctx, err))
	}
	return nil
}

// Player returns the player with id.
func (s *Store) Player(ctx context.Context, id uuid.UUID) (session.Player, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var p session.Player
	err := s.pool.QueryRow(ctx, `SELECT id, username, created_at FROM players WHERE id = $1`, id).
		Scan(&p.ID, &p.Username, &p.CreatedAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return session.Player{}, fmt.Errorf("player %s: %w", id, session.ErrNotFound)
	case err != nil:
		return session.Player{}, fmt.Errorf("player %s: %w", id, unavailable(ctx, err))
	}
	p.CreatedAt = p.CreatedAt.UTC()
	return p, nil
}

// CreateSession stores ns and evicts the player's oldest active sessions past
// limit, holding a lock on the player's row so that concurrent creations for
// one player, in any process, take turns.
func (s *Store) CreateSession(ctx context.Context, ns session.Session, limit int) ([]session.Session, error) {
	var evicted []session.Session
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var username string
		err := tx.QueryRow(ctx, `SELECT username FROM players WHERE id = $1 FOR UPDATE`, ns.PlayerID).Scan(&username)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("player %s: %w", ns.PlayerID, session.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, insertSession, sessionArgs(ns)...); err != nil {
			return err
		}
		evicted = nil
		if limit <= 0 {
			return nil
		}
		// Keep the limit-1 newest other active sessions; revoked_at is checked
		// again outside the subquery so that a concurrent revocation stands.
		rows, err := tx.Query(ctx, `WITH evicted AS (
				UPDATE sessions SET revoked_at = $3, revoked_reason = $5
				WHERE revoked_at IS NULL AND id IN (
					SELECT id FROM sessions
					WHERE player_id = $1 AND id <> $2 AND revoked_at IS NULL AND expires_at > $3
					ORDER BY created_at DESC, id DESC
					OFFSET $4
				)
				RETURNING *
			)
			SELECT `+sessionColumns+` FROM evicted s JOIN players p ON p.id = s.player_id
			ORDER BY s.created_at, s.id`,
			ns.PlayerID, ns.ID, ns.CreatedAt, limit-1, session.ReasonEvicted)
		if err != nil {
			return err
		}
		evicted, err = collectSessions(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create session %s: %w", ns.ID, err)
	}
	return evicted, nil
}

// Session returns the session with id.
func (s *Store) Session(ctx context.Context, id uuid.UUID) (session.Session, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	sess, err := scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionColumns+`
		FROM sessions s JOIN players p ON p.id = s.player_id WHERE s.id = $1`, id))
	return sess, sessionErr(ctx, "session", id, err)
}

// TouchSession returns the session with id and moves its last_seen_at to at
// when it is more than a minute older, in one statement: the returned
// LastSeenAt is the value before the touch.
func (s *Store) TouchSession(ctx context.Context, id uuid.UUID, at time.Time) (session.Session, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	sess, err := scanSession(s.pool.QueryRow(ctx, `WITH touched AS (
			UPDATE sessions SET last_seen_at = $2
			WHERE id = $1 AND last_seen_at < $2::timestamptz - interval '1 minute'
		)
		SELECT `+sessionColumns+` FROM sessions s JOIN players p ON p.id = s.player_id WHERE s.id = $1`, id, at))
	return sess, sessionErr(ctx, "touch session", id, err)
}

// touchBatch is how many sessions one TouchSessions statement touches:
// the row locks of a statement are held until it commits, so a batch is
// kept small, like DeleteExpired's.
const touchBatch = 1000

// TouchSessions moves last_seen_at to at for the sessions of ids last seen
// more than a minute before at, touchBatch of them per statement, each
// bounded by the store's timeout. Rows another transaction holds (a
// refresh, a revocation, another gateway's batch) are skipped rather than
// waited for (SKIP LOCKED): a touch is worth less than a stalled batch, and
// a statement that never waits for a row lock cannot deadlock, whatever
// order other transactions lock the rows in.
func (s *Store) TouchSessions(ctx context.Context, ids []uuid.UUID, at time.Time) error {
	for len(ids) > 0 {
		batch := ids[:min(len(ids), touchBatch)]
		ids = ids[len(batch):]
		if err := s.touchBatch(ctx, batch, at); err != nil {
			return fmt.Errorf("touch %d sessions: %w", len(batch), err)
		}
	}
	return nil
}

func (s *Store) touchBatch(ctx context.Context, ids []uuid.UUID, at time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `WITH stale AS (
			SELECT id FROM sessions
			WHERE id = ANY($1) AND last_seen_at < $2::timestamptz - interval '1 minute'
			FOR UPDATE SKIP LOCKED
		)
		UPDATE sessions s SET last_seen_at = $2 FROM stale WHERE s.id = stale.id`, ids, at)
	return unavailable(ctx, err)
}

// sessionErr wraps err, from reading the session id with ctx, for verb.
func sessionErr(ctx context.Context, verb string, id uuid.UUID, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%s %s: %w", verb, id, session.ErrNotFound)
	default:
		return fmt.Errorf("%s %s: %w", verb, id, unavailable(ctx, err))
	}
}

// rotateCurrent is RotateRefresh's common case in one statement, so one
// round trip: oldHash is the current hash of a session neither revoked nor
// expired at $3; it becomes a former hash, the newest formerHashes are kept
// (the statement does not see its own insert, so it keeps $7 =
// formerHashes-1 of the others), and the session is rotated. No row means
// oldHash is not such a session's current hash. Of two concurrent calls
// with one oldHash, the second waits for the row lock, then finds the hash
// changed and returns no row.
const rotateCurrent = `WITH cur AS (
		SELECT id FROM sessions
		WHERE refresh_hash = $1 AND revoked_at IS NULL AND expires_at > $3
		FOR UPDATE
	), former AS (
		INSERT INTO former_refresh_hashes (hash, session_id) SELECT $1, id FROM cur
	), pruned AS (
		DELETE FROM former_refresh_hashes
		WHERE session_id = (SELECT id FROM cur) AND seq <= (
			SELECT seq FROM former_refresh_hashes WHERE session_id = (SELECT id FROM cur)
			ORDER BY seq DESC OFFSET $7 LIMIT 1
		)
	), rotated AS (
		UPDATE sessions SET refresh_hash = $2, last_seen_at = $3,
			expires_at = least($4::timestamptz, max_expires_at), ip = $5, user_agent = $6
		WHERE id = (SELECT id FROM cur)
		RETURNING *
	)
	SELECT ` + sessionColumns + ` FROM rotated s JOIN players p ON p.id = s.player_id`

// RotateRefresh replaces the refresh hash of the session holding oldHash.
// The common case (oldHash is current and the session usable) is one
// statement, rotateCurrent: a refresh is the store's most frequent write,
// and it holds a pool connection for one round trip instead of six. Every
// other case runs in a transaction holding the session's row lock: of two
// concurrent calls with one oldHash, the second finds the row changed once
// it gets the lock, looks oldHash up among the former hashes and reports
// reuse. Only the newest formerHashes former hashes of a session are kept.
func (s *Store) RotateRefresh(ctx context.Context, oldHash, newHash []byte, now, idleUntil time.Time, client session.ClientInfo) (session.Session, error) {
	client = client.Recorded()
	sctx, cancel := s.bound(ctx)
	rotated, err := scanSession(s.pool.QueryRow(sctx, rotateCurrent,
		oldHash, newHash, now, idleUntil, client.IP, client.UserAgent, formerHashes-1))
	if err == nil || !errors.Is(err, pgx.ErrNoRows) && !retryable(err) {
		err = unavailable(sctx, err)
		cancel()
		if err != nil {
			return session.Session{}, fmt.Errorf("rotate refresh token: %w", err)
		}
		return rotated, nil
	}
	cancel()
	// Unknown, former (reuse), revoked or expired: find out which, under
	// the row lock; a session rotated meanwhile by another call is found
	// by its former hash.
	var outcome error // an error outcome whose changes are committed all the same
	err = s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		outcome = nil
		cur, err := scanSession(tx.QueryRow(ctx, `SELECT `+sessionColumns+`
			FROM sessions s JOIN players p ON p.id = s.player_id
			WHERE s.refresh_hash = $1 FOR UPDATE OF s`, oldHash))
		if errors.Is(err, pgx.ErrNoRows) {
			return s.refreshReused(ctx, tx, oldHash, now, &outcome)
		}
		if err != nil {
			return err
		}
		if err := usable(cur, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO former_refresh_hashes (hash, session_id) VALUES ($1, $2)`, oldHash, cur.ID); err != nil {
			return err
		}
		// Forget all but the newest formerHashes, under the session's row
		// lock; both statements walk former_refresh_hashes_session_seq_idx.
		if _, err := tx.Exec(ctx, `DELETE FROM former_refresh_hashes
			WHERE session_id = $1 AND seq <= (
				SELECT seq FROM former_refresh_hashes WHERE session_id = $1
				ORDER BY seq DESC OFFSET $2 LIMIT 1
			)`, cur.ID, formerHashes); err != nil {
			return err
		}
		rotated, err = scanSession(tx.QueryRow(ctx, `WITH rotated AS (
				UPDATE sessions SET refresh_hash = $2, last_seen_at = $3,
					expires_at = least($4::timestamptz, max_expires_at), ip = $5, user_agent = $6
				WHERE id = $1
				RETURNING *
			)
			SELECT `+sessionColumns+` FROM rotated s JOIN players p ON p.id = s.player_id`,
			cur.ID, newHash, now, idleUntil, client.IP, client.UserAgent))
		return err
	})
	if err == nil {
		err = outcome
	}
	if err != nil {
		return session.Session{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	return rotated, nil
}

// refreshReused handles a RotateRefresh whose oldHash is no session's
// current hash: unknown, or a former hash, whose session it revokes. It sets
// *outcome rather than returning the reuse error so that the revocation is
// committed.
func (s *Store) refreshReused(ctx context.Context, tx pgx.Tx, oldHash []byte, now time.Time, outcome *error) error {
	sess, err := scanSession(tx.QueryRow(ctx, `SELECT `+sessionColumns+`
		FROM former_refresh_hashes f
		JOIN sessions s ON s.id = f.session_id
		JOIN players p ON p.id = s.player_id
		WHERE f.hash = $1 FOR UPDATE OF s`, oldHash))
	if errors.Is(err, pgx.ErrNoRows) {
		return session.ErrNotFound
	}
	if err != nil {
		return err
	}
	if err := usable(sess, now); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $2, revoked_reason = $3
		WHERE id = $1 AND revoked_at IS NULL`, sess.ID, now, session.ReasonReuse); err != nil {
		return err
	}
	*outcome = fmt.Errorf("session %s: %w", sess.ID, session.ErrRefreshReused)
	return nil
}

// usable returns ErrRevoked or ErrExpired when sess cannot be refreshed at
// now.
func usable(sess session.Session, now time.Time) error {
	switch {
	case sess.Revoked():
		return fmt.Errorf("session %s: %w", sess.ID, session.ErrRevoked)
	case !now.Before(sess.ExpiresAt):
		return fmt.Errorf("session %s: %w", sess.ID, session.ErrExpired)
	}
	return nil
}

// RevokeSession revokes the session with id unless it is revoked already.
func (s *Store) RevokeSession(ctx context.Context, id uuid.UUID, at time.Time, reason string) (session.Session, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	sess, err := scanSession(s.pool.QueryRow(ctx, `WITH revoked AS (
			UPDATE sessions SET revoked_at = $2, revoked_reason = $3
			WHERE id = $1 AND revoked_at IS NULL
			RETURNING *
		)
		SELECT `+sessionColumns+` FROM revoked s JOIN players p ON p.id = s.player_id`, id, at, reason))
	if errors.Is(err, pgx.ErrNoRows) {
		// Revoked already, or no such session: a new statement sees the
		// revocation that won.
		sess, err = scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionColumns+`
			FROM sessions s JOIN players p ON p.id = s.player_id WHERE s.id = $1`, id))
	}
	return sess, sessionErr(ctx, "revoke session", id, err)
}

// RevokePlayerSessions revokes the player's active sessions, oldest first.
func (s *Store) RevokePlayerSessions(ctx context.Context, playerID uuid.UUID, at time.Time, reason string) ([]session.Session, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `WITH revoked AS (
			UPDATE sessions SET revoked_at = $2, revoked_reason = $3
			WHERE player_id = $1 AND revoked_at IS NULL AND expires_at > $2
			RETURNING *
		)
		SELECT `+sessionColumns+` FROM revoked s JOIN players p ON p.id = s.player_id
		ORDER BY s.created_at, s.id`, playerID, at, reason)
	if err != nil {
		return nil, fmt.Errorf("revoke sessions of player %s: %w", playerID, unavailable(ctx, err))
	}
	revoked, err := collectSessions(rows)
	if err != nil {
		return nil, fmt.Errorf("revoke sessions of player %s: %w", playerID, unavailable(ctx, err))
	}
	return revoked, nil
}

// PlayerSessions returns the player's sessions, oldest first.
func (s *Store) PlayerSessions(ctx context.Context, playerID uuid.UUID, now time.Time, all bool) ([]session.Session, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+sessionColumns+`
		FROM sessions s JOIN players p ON p.id = s.player_id
		WHERE s.player_id = $1 AND ($3 OR (s.revoked_at IS NULL AND s.expires_at > $2))
		ORDER BY s.created_at, s.id`, playerID, now, all)
	if err != nil {
		return nil, fmt.Errorf("sessions of player %s: %w", playerID, unavailable(ctx, err))
	}
	sessions, err := collectSessions(rows)
	if err != nil {
		return nil, fmt.Errorf("sessions of player %s: %w", playerID, unavailable(ctx, err))
	}
	return sessions, nil
}

// DeleteExpired deletes expired sessions in batches of deleteBatch, each its
// own transaction bounded by the store's timeout. Rows another process is
// deleting are skipped (SKIP LOCKED), so several processes can sweep at once.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		n, err := s.deleteExpiredBatch(ctx, now)
		total += n
		if err != nil {
			return total, fmt.Errorf("delete expired sessions: %w", err)
		}
		if n < deleteBatch {
			return total, nil
		}
	}
}

// deleteExpiredBatch deletes up to deleteBatch expired sessions and then
// those of their players left without sessions. It locks those players
// first (in id order, so sweepers cannot deadlock each other): a
// CreateSession for one of them either committed before, and its session
// keeps the player, or waits and then finds the player gone. Of two sweepers
// deleting a player's last sessions, the second to get the lock sees the
// first's deletions.
func (s *Store) deleteExpiredBatch(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH doomed AS (
				SELECT id FROM sessions WHERE expires_at <= $1
				ORDER BY expires_at LIMIT $2
				FOR UPDATE SKIP LOCKED
			)
			DELETE FROM sessions s USING doomed WHERE s.id = doomed.id
			RETURNING s.player_id`, now, deleteBatch)
		if err != nil {
			return err
		}
		players, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		n = len(players)
		if n == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `SELECT id FROM players WHERE id = ANY($1) ORDER BY id FOR UPDATE`, players); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM players p WHERE p.id = ANY($1)
			AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.player_id = p.id)`, players)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
