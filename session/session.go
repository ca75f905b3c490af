package session

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Player is a durable anonymous player: a stable ID and a unique username.
type Player struct {
	ID        uuid.UUID
	Username  string
	CreatedAt time.Time
}

// Session is one device's login of a player. It is a durable row: a revoked
// session stays (with RevokedAt and RevokedReason) until ExpiresAt, so its
// tokens are answered "revoked" rather than "unknown".
type Session struct {
	ID       uuid.UUID
	PlayerID uuid.UUID
	// Username is the player's username, joined in by the store.
	Username string
	// CreatedAt is when the session was created.
	CreatedAt time.Time
	// LastSeenAt is when the session was last used (created, refreshed or
	// validated; stores may coarsen it to about a minute, and a socket let
	// in by Authenticate's fast path is recorded within the Service's
	// TouchInterval, 30 s by default).
	LastSeenAt time.Time
	// ExpiresAt is when the session (and its refresh token) expires unless
	// refreshed: the idle timeout, never later than MaxExpiresAt.
	ExpiresAt time.Time
	// MaxExpiresAt is the absolute end of the session, fixed at creation.
	MaxExpiresAt time.Time
	// RevokedAt is zero while the session is not revoked.
	RevokedAt     time.Time
	RevokedReason string
	// IP and UserAgent describe the client that created or last refreshed it.
	IP        string
	UserAgent string
	// RefreshHash is the SHA-256 of the current refresh token. Earlier hashes
	// of the session are kept by the store for reuse detection.
	RefreshHash []byte
}

// Revoked reports whether s has been revoked.
func (s Session) Revoked() bool { return !s.RevokedAt.IsZero() }

// Active reports whether s is neither revoked nor expired at now.
func (s Session) Active(now time.Time) bool {
	return !s.Revoked() && now.Before(s.ExpiresAt)
}

// Identity is who an authenticated request or socket belongs to, as proven
// by a valid access token of an active session.
type Identity struct {
	PlayerID  uuid.UUID
	SessionID uuid.UUID
	Username  string
	// IssuedAt and ExpiresAt are the access token's iat and exp: its
	// lifetime is ExpiresAt - IssuedAt.
	IssuedAt  time.Time
	ExpiresAt time.Time
	// SessionExpiresAt is the session's (refresh token's) expiry; zero
	// when Authenticate let the socket in without reading the session.
	SessionExpiresAt time.Time
}

// Revocation reasons, stored with a revoked session and carried by
// Revocation notifications.
const (
	ReasonLogout      = "logout"
	ReasonLogoutAll   = "logout_all"
	ReasonEvicted     = "evicted"
	ReasonReuse       = "refresh_token_reused"
	ReasonAdmin       = "admin"
	ReasonAdminPlayer = "admin_player"
)

// Revocation tells subscribers that a session was revoked, so that every
// gateway process can close its sockets.
type Revocation struct {
	SessionID uuid.UUID
	PlayerID  uuid.UUID
	Reason    string
}

// ClientInfo describes the client making a request: recorded on sessions it
// creates or refreshes, as Recorded returns it.
type ClientInfo struct {
	IP        string
	UserAgent string
}

// MaxUserAgentBytes is the longest user agent a session records.
const MaxUserAgentBytes = 512

// Recorded returns c as a session records it: valid UTF-8 (each run of
// invalid bytes becomes U+FFFD), the user agent cut to MaxUserAgentBytes on
// a character boundary. Clients send any bytes; PostgreSQL refuses text that
// is not UTF-8, and listings are JSON. Stores apply it to every session they
// store or refresh, so all of them record the same.
func (c ClientInfo) Recorded() ClientInfo {
	c.IP = strings.ToValidUTF8(c.IP, "\uFFFD")
	c.UserAgent = strings.ToValidUTF8(c.UserAgent, "\uFFFD")
	if len(c.UserAgent) > MaxUserAgentBytes {
		cut := MaxUserAgentBytes
		for cut > 0 && !utf8.RuneStart(c.UserAgent[cut]) {
			cut--
		}
		c.UserAgent = c.UserAgent[:cut]
	}
	return c
}

// Recorded returns s with its IP and UserAgent as ClientInfo.Recorded
// returns them.
func (s Session) Recorded() Session {
	c := ClientInfo{IP: s.IP, UserAgent: s.UserAgent}.Recorded()
	s.IP, s.UserAgent = c.IP, c.UserAgent
	return s
}
