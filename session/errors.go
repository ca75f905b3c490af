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

// Code is how a domain error reaches clients and dashboards: the one
// table every transport reads (HTTP error bodies and statuses, WebSocket
// close reasons and error frames, metric labels).
type Code struct {
	// Err is the domain error (matched with errors.Is).
	Err error
	// Name is the contract's snake_case code, e.g. "session_revoked", and
	// the error's metric label.
	Name string
	// Status is the HTTP status of an answer with this error.
	Status int
	// Message is the human-readable text clients see.
	Message string
	// Outcome groups store results in metrics: "refused", "not_found" or
	// "unavailable".
	Outcome string
}

// Unauthorized reports whether the code is a 401 (a token or session the
// client must replace).
func (c Code) Unauthorized() bool { return c.Status == 401 }

// codes is the table. Order matters where errors wrap others: the first
// match wins. It is never modified.
var codes = [...]Code{
	{ErrMissingToken, "missing_token", 401, "a Bearer access token is required", "refused"},
	{ErrRefreshReused, "refresh_token_reused", 401, "refresh token reused: the session has been revoked", "refused"},
	{ErrTokenExpired, "token_expired", 401, "access token expired", "refused"},
	{ErrRevoked, "session_revoked", 401, "session revoked", "refused"},
	{ErrExpired, "session_expired", 401, "session expired", "refused"},
	{ErrInvalidToken, "invalid_token", 401, "invalid token", "refused"},
	{ErrUsernameTaken, "username_taken", 409, "username taken", "refused"},
	{ErrNotFound, "not_found", 404, "no such player or session", "not_found"},
	{ErrUnavailable, "store_unavailable", 503, "session store unavailable, try again", "unavailable"},
}

// CodeOf returns the Code of err, which may wrap a domain error; ok is
// false for any other error (an internal one).
func CodeOf(err error) (c Code, ok bool) {
	if err == nil {
		return Code{}, false
	}
	for _, c := range codes {
		if errors.Is(err, c.Err) {
			return c, true
		}
	}
	return Code{}, false
}
