package session

import "errors"

// Domain errors. Stores return ErrNotFound, ErrUsernameTaken and
// ErrUnavailable (wrapped); the service adds the rest. HTTP handlers and the
// gateway map them to the contract's codes in one place each.
var (
	// ErrNotFound: no such player, session or refresh token.
	ErrNotFound = errors.New("session: not found")
	// ErrUsernameTaken: another player has this username.
	ErrUsernameTaken = errors.New("session: username taken")
	// ErrUnavailable: the store could not be reached in time.
	ErrUnavailable = errors.New("session: store unavailable")

	// ErrMissingToken: no access token was presented.
	ErrMissingToken = errors.New("session: missing token")
	// ErrInvalidToken: the token is malformed, forged, or of an unknown session.
	ErrInvalidToken = errors.New("session: invalid token")
	// ErrTokenExpired: the access token's exp has passed.
	ErrTokenExpired = errors.New("session: token expired")
	// ErrRevoked: the session was revoked.
	ErrRevoked = errors.New("session: revoked")
	// ErrExpired: the session itself has expired.
	ErrExpired = errors.New("session: expired")
	// ErrRefreshReused: a refresh token other than the newest was presented;
	// the whole session has been revoked.
	ErrRefreshReused = errors.New("session: refresh token reused")
)
