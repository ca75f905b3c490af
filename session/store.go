package session

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Store is the persistence the Service needs: players and sessions as durable
// rows. store/memory and store/postgres implement it; store/storetest is the
// conformance suite both pass. Every method may return ErrUnavailable
// (wrapped) when the backend cannot be reached before ctx ends. When ctx is
// canceled (not past its deadline) a method may instead return an error
// wrapping context.Canceled: the caller gave up, the backend is not at fault.
//
// Stores also publish every revocation they perform (RevokeSession,
// RevokePlayerSessions, evictions in CreateSession, reuse in RotateRefresh)
// to their subscribers; see storetest for the Watch method that delivers them.
//
// Every method that stores a session's IP and UserAgent (CreatePlayer,
// CreateSession, RotateRefresh) records them as ClientInfo.Recorded returns
// them, whatever bytes it is given.
type Store interface {
	// CreatePlayer stores a new player together with its first session, in
	// one atomic step. It returns ErrUsernameTaken if another player already
	// has p.Username, in which case nothing is stored.
	CreatePlayer(ctx context.Context, p Player, first Session) error

	// Player returns the player with id, or ErrNotFound.
	Player(ctx context.Context, id uuid.UUID) (Player, error)

	// CreateSession stores s for the existing player s.PlayerID (ErrNotFound
	// if there is none; s.Username is ignored) and, in the same atomic step,
	// revokes with ReasonEvicted at s.CreatedAt the player's oldest active
	// sessions so that at most limit stay active, s included. It returns the
	// sessions it evicted, as revoked. limit <= 0 means no limit.
	CreateSession(ctx context.Context, s Session, limit int) ([]Session, error)

	// Session returns the session with id, revoked and expired ones
	// included, or ErrNotFound.
	Session(ctx context.Context, id uuid.UUID) (Session, error)

	// TouchSession returns the session with id like Session and records at
	// as its last use. Implementations may skip the write when LastSeenAt is
	// less than a minute before at; the returned LastSeenAt may be the value
	// before the touch.
	TouchSession(ctx context.Context, id uuid.UUID, at time.Time) (Session, error)

	// TouchSessions records at as the last use of every stored session
	// among ids, ignoring the unknown ones: the Service's batch of the
	// sessions whose sockets it authenticated without asking the store.
	// Like TouchSession it may skip a session whose LastSeenAt is less than
	// a minute before at, and it never moves a LastSeenAt back. It is one
	// step per batch of sessions, not one atomic step for all of ids: on an
	// error some sessions may have been touched. Empty ids is a no-op.
	TouchSessions(ctx context.Context, ids []uuid.UUID, at time.Time) error

	// RotateRefresh replaces a session's refresh token, atomically. The
	// session is the one that has, or once had, oldHash:
	//   - none: ErrNotFound;
	//   - revoked: ErrRevoked; expired (ExpiresAt not after now): ErrExpired;
	//   - oldHash is one of the session's newest 32 former hashes
	//     (storetest.FormerHashes): the session is revoked with ReasonReuse
	//     at now, and ErrRefreshReused is returned; older former hashes are
	//     forgotten (so one session cannot grow without bound) and are
	//     ErrNotFound like any unknown hash, revoking nothing;
	//   - oldHash is the current hash: it becomes a former hash, newHash the
	//     current one, LastSeenAt = now, ExpiresAt = min(idleUntil,
	//     MaxExpiresAt), IP and UserAgent from client; the updated session
	//     is returned.
	// Of two concurrent calls with the same oldHash, exactly one rotates; the
	// other sees a former hash.
	RotateRefresh(ctx context.Context, oldHash, newHash []byte, now, idleUntil time.Time, client ClientInfo) (Session, error)

	// RevokeSession revokes the session with id at at for reason and returns
	// it as revoked. Revoking a revoked session changes nothing (its first
	// revocation stands, no second notification) and is not an error.
	// ErrNotFound if there is no such session.
	RevokeSession(ctx context.Context, id uuid.UUID, at time.Time, reason string) (Session, error)

	// RevokePlayerSessions revokes every active session of the player at at
	// for reason and returns the sessions it revoked (none is not an error).
	RevokePlayerSessions(ctx context.Context, playerID uuid.UUID, at time.Time, reason string) ([]Session, error)

	// PlayerSessions returns the player's sessions, oldest first: with all
	// false only the active ones at now (not revoked, ExpiresAt after now),
	// with all true every row still stored, revoked and expired included.
	PlayerSessions(ctx context.Context, playerID uuid.UUID, now time.Time, all bool) ([]Session, error)

	// DeleteExpired deletes the sessions whose ExpiresAt is not after now,
	// revoked ones included, with their former refresh hashes, and then the
	// players left without any session. It returns how many sessions it
	// deleted.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}
