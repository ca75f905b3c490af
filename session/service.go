package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/bigtwo/gateway/petname"
)

// Options tunes a Service. Zero values mean the documented defaults.
type Options struct {
	// TokenTTL is the access token lifetime. Defaults to 1h.
	TokenTTL time.Duration
	// SessionTTL is the idle lifetime: a session not refreshed within it
	// expires. Defaults to 168h.
	SessionTTL time.Duration
	// SessionMaxAge is the absolute lifetime of a session. Defaults to 720h.
	SessionMaxAge time.Duration
	// MaxSessionsPerPlayer is how many active sessions a player may have;
	// the oldest are evicted past it. Defaults to 5; negative means no limit.
	MaxSessionsPerPlayer int
	// StoreTimeout bounds every store call. Defaults to 2s.
	StoreTimeout time.Duration
	// CleanupInterval is how often Run sweeps expired sessions. Defaults to 1m.
	CleanupInterval time.Duration
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// Rand draws usernames. Defaults to a source seeded from crypto/rand.
	Rand *mrand.Rand
	// Metrics receives the service's counters and store latencies.
	// Defaults to unregistered collectors.
	Metrics *Metrics
	// Feed, when set, turns on Authenticate's fast path (see Authenticate
	// and Feed): the feed's callback must pass every revocation to
	// Revoked. Nil, the default, sends every validation to the store.
	Feed Feed
	// FeedWindow is how recent Feed.Synced must be for Authenticate to
	// skip the store: a revocation is refused by the fast path at the
	// latest this long after it committed. Defaults to 3s.
	FeedWindow time.Duration
	// TouchInterval is how often Run records, in batches, the last use of
	// the sessions Authenticate let in without the store. Defaults to 30s.
	TouchInterval time.Duration
}

// DefaultOptions returns the default of every setting that has one: the
// values the zero Options stands for, and the defaults the gateway's
// settings show. It is the only place they are written.
func DefaultOptions() Options {
	return Options{
		TokenTTL:             time.Hour,
		SessionTTL:           168 * time.Hour,
		SessionMaxAge:        720 * time.Hour,
		MaxSessionsPerPlayer: 5,
		StoreTimeout:         2 * time.Second,
		CleanupInterval:      time.Minute,
		FeedWindow:           3 * time.Second,
		TouchInterval:        30 * time.Second,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.TokenTTL <= 0 {
		o.TokenTTL = d.TokenTTL
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = d.SessionTTL
	}
	if o.SessionMaxAge <= 0 {
		o.SessionMaxAge = d.SessionMaxAge
	}
	if o.MaxSessionsPerPlayer == 0 {
		o.MaxSessionsPerPlayer = d.MaxSessionsPerPlayer
	}
	if o.StoreTimeout <= 0 {
		o.StoreTimeout = d.StoreTimeout
	}
	if o.CleanupInterval <= 0 {
		o.CleanupInterval = d.CleanupInterval
	}
	if o.FeedWindow <= 0 {
		o.FeedWindow = d.FeedWindow
	}
	if o.TouchInterval <= 0 {
		o.TouchInterval = d.TouchInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = petname.NewRand()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	return o
}

// usernameAttempts bounds the retries when a generated username is taken.
const usernameAttempts = 8

// refreshTokenBytes is the size of a refresh token's secret: 256 bits.
const refreshTokenBytes = 32

// Service creates, validates, refreshes and revokes sessions. It is safe for
// concurrent use.
type Service struct {
	store Store
	keys  *KeyRing
	log   zerolog.Logger
	opts  Options
	m     *Metrics

	rngMu sync.Mutex // guards rng, which is not safe for concurrent use
	rng   *mrand.Rand

	// The fast path's state (fastpath.go), used only with a feed.
	feed    Feed
	revoked revokedSet
	touched touchSet
}

// NewService returns a Service over store, signing with keys.
func NewService(store Store, keys *KeyRing, log zerolog.Logger, opts Options) *Service {
	opts = opts.withDefaults()
	return &Service{store: store, keys: keys, log: log, opts: opts, m: opts.Metrics, rng: opts.Rand, feed: opts.Feed}
}

// Issued is what Create and Refresh hand to the client.
type Issued struct {
	Session Session
	// Token is the access token (JWT) and ExpiresAt its expiry.
	Token     string
	ExpiresAt time.Time
	// RefreshToken is the opaque refresh token; only its hash is stored.
	RefreshToken string
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// storeCtx bounds a store call by the store timeout.
func (s *Service) storeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opts.StoreTimeout)
}

// Create starts a session. With an empty bearer it creates a new player with
// a fresh username; with a valid access token it starts another session for
// that token's player (a second device), evicting the player's oldest
// sessions past the limit. An invalid bearer is an error, never a new player.
func (s *Service) Create(ctx context.Context, bearer string, client ClientInfo) (Issued, error) {
	if bearer != "" {
		id, err := s.Validate(ctx, bearer)
		if err != nil {
			return Issued{}, err
		}
		return s.createForPlayer(ctx, id.PlayerID, id.Username, client)
	}
	now := s.now()
	for range usernameAttempts {
		p := Player{ID: uuid.New(), Username: s.username(), CreatedAt: now}
		sess, refresh, err := s.newSession(p.ID, p.Username, now, client)
		if err != nil {
			return Issued{}, err
		}
		sctx, cancel := s.storeCtx(ctx)
		start := time.Now()
		err = s.store.CreatePlayer(sctx, p, sess)
		s.m.storeDone("create_player", start, err)
		cancel()
		if errors.Is(err, ErrUsernameTaken) {
			continue
		}
		if err != nil {
			return Issued{}, fmt.Errorf("create player: %w", err)
		}
		s.m.created.WithLabelValues("new_player").Inc()
		return s.issue(sess, refresh)
	}
	return Issued{}, fmt.Errorf("create player: %d usernames taken in a row: %w", usernameAttempts, ErrUsernameTaken)
}

func (s *Service) createForPlayer(ctx context.Context, playerID uuid.UUID, username string, client ClientInfo) (Issued, error) {
	now := s.now()
	sess, refresh, err := s.newSession(playerID, username, now, client)
	if err != nil {
		return Issued{}, err
	}
	sctx, cancel := s.storeCtx(ctx)
	defer cancel()
	start := time.Now()
	evicted, err := s.store.CreateSession(sctx, sess, s.opts.MaxSessionsPerPlayer)
	s.m.storeDone("create_session", start, err)
	if err != nil {
		return Issued{}, fmt.Errorf("create session for player %s: %w", playerID, err)
	}
	s.m.created.WithLabelValues("new_device").Inc()
	s.m.revoked.WithLabelValues(ReasonEvicted).Add(float64(len(evicted)))
	for _, e := range evicted {
		s.log.Info().Str("session_id", e.ID.String()).Str("player_id", playerID.String()).Msg("session evicted")
	}
	return s.issue(sess, refresh)
}

func (s *Service) username() string {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return petname.Generate(s.rng)
}

// newSession builds a session row and its refresh token.
func (s *Service) newSession(playerID uuid.UUID, username string, now time.Time, client ClientInfo) (Session, string, error) {
	refresh, hash, err := newRefreshToken()
	if err != nil {
		return Session{}, "", err
	}
	now = now.Truncate(time.Microsecond)
	maxExp := now.Add(s.opts.SessionMaxAge)
	client = client.Recorded()
	return Session{
		ID:           uuid.New(),
		PlayerID:     playerID,
		Username:     username,
		CreatedAt:    now,
		LastSeenAt:   now,
		ExpiresAt:    minTime(now.Add(s.opts.SessionTTL), maxExp),
		MaxExpiresAt: maxExp,
		IP:           client.IP,
		UserAgent:    client.UserAgent,
		RefreshHash:  hash,
	}, refresh, nil
}

// issue signs an access token for sess; it never outlives the session.
func (s *Service) issue(sess Session, refresh string) (Issued, error) {
	now := s.now()
	exp := minTime(now.Add(s.opts.TokenTTL), sess.ExpiresAt).Truncate(time.Second)
	tok, err := s.keys.Sign(AccessClaims{
		PlayerID:  sess.PlayerID,
		SessionID: sess.ID,
		Username:  sess.Username,
		IssuedAt:  now,
		ExpiresAt: exp,
	})
	if err != nil {
		return Issued{}, fmt.Errorf("sign token for session %s: %w", sess.ID, err)
	}
	return Issued{Session: sess, Token: tok, ExpiresAt: exp, RefreshToken: refresh}, nil
}

// Validate checks an access token twice: the JWT (signature, expiry, claims)
// and the session row (exists, not revoked, not expired), which it reads
// from the store and marks as used. It returns the identity the token
// proves.
func (s *Service) Validate(ctx context.Context, token string) (Identity, error) {
	return s.check(ctx, token, false)
}

// check verifies token and then its session: from the revoked set when
// fast allows Authenticate's fast path and it applies, else from the store.
func (s *Service) check(ctx context.Context, token string, fast bool) (Identity, error) {
	if token == "" {
		return Identity{}, ErrMissingToken
	}
	now := s.now()
	claims, err := s.keys.Verify(token, now)
	if err != nil {
		return Identity{}, err
	}
	if fast && s.fastPath(claims) {
		return s.authenticateFast(claims)
	}
	id, err := s.validateStored(ctx, claims, now)
	s.m.validated(pathStore, err)
	return id, err
}

// validateStored is Validate's check of the session row of a verified
// token.
func (s *Service) validateStored(ctx context.Context, claims AccessClaims, now time.Time) (Identity, error) {
	sctx, cancel := s.storeCtx(ctx)
	defer cancel()
	start := time.Now()
	sess, err := s.store.TouchSession(sctx, claims.SessionID, now)
	s.m.storeDone("touch_session", start, err)
	if errors.Is(err, ErrNotFound) {
		return Identity{}, fmt.Errorf("session %s of a valid token: %w", claims.SessionID, ErrInvalidToken)
	}
	if err != nil {
		return Identity{}, fmt.Errorf("validate session %s: %w", claims.SessionID, err)
	}
	if sess.PlayerID != claims.PlayerID {
		return Identity{}, fmt.Errorf("session %s belongs to another player: %w", sess.ID, ErrInvalidToken)
	}
	if err := sessionUsable(sess, now); err != nil {
		return Identity{}, err
	}
	return Identity{
		PlayerID:         sess.PlayerID,
		SessionID:        sess.ID,
		Username:         sess.Username,
		IssuedAt:         claims.IssuedAt,
		ExpiresAt:        claims.ExpiresAt,
		SessionExpiresAt: sess.ExpiresAt,
	}, nil
}

// Authenticate is how the WebSocket gateway validates a socket's token.
// Without a Feed it is Validate. With one it has a fast path that asks no
// store: while the feed is synced (Feed.Synced at most FeedWindow ago), a
// token that verifies, and lives no longer than TokenTTL, is good unless
// its session is among the revocations the feed delivered (Revoked). A
// revocation is then refused by every Service on the feed as soon as the
// feed delivers it, and never later than FeedWindow after it committed;
// while the feed is down or silent for longer than that, every call is
// Validate. On the fast path the identity has no SessionExpiresAt, and the
// session's last use is recorded by Run, within TouchInterval.
func (s *Service) Authenticate(ctx context.Context, token string) (Identity, error) {
	return s.check(ctx, token, true)
}

func sessionUsable(sess Session, now time.Time) error {
	if sess.Revoked() {
		return fmt.Errorf("session %s: %w", sess.ID, ErrRevoked)
	}
	if !now.Before(sess.ExpiresAt) {
		return fmt.Errorf("session %s: %w", sess.ID, ErrExpired)
	}
	return nil
}

// Refresh rotates a session's tokens: the refresh token presented must be
// the session's newest. Presenting an older one revokes the whole session
// and returns ErrRefreshReused.
func (s *Service) Refresh(ctx context.Context, refreshToken string, client ClientInfo) (Issued, error) {
	oldHash, err := refreshHash(refreshToken)
	if err != nil {
		s.m.refreshFailed(err)
		return Issued{}, err
	}
	refresh, newHash, err := newRefreshToken()
	if err != nil {
		return Issued{}, err
	}
	now := s.now().Truncate(time.Microsecond)
	sctx, cancel := s.storeCtx(ctx)
	defer cancel()
	start := time.Now()
	sess, err := s.store.RotateRefresh(sctx, oldHash, newHash, now, now.Add(s.opts.SessionTTL), client.Recorded())
	s.m.storeDone("rotate_refresh", start, err)
	if err != nil {
		s.m.refreshFailed(err)
	}
	if errors.Is(err, ErrRefreshReused) {
		s.m.revoked.WithLabelValues(ReasonReuse).Inc()
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return Issued{}, fmt.Errorf("refresh: unknown refresh token: %w", ErrInvalidToken)
	case errors.Is(err, ErrRefreshReused):
		s.log.Warn().Str("ip", client.IP).Msg("refresh token reused: session revoked")
		return Issued{}, fmt.Errorf("refresh: %w", err)
	case err != nil:
		return Issued{}, fmt.Errorf("refresh: %w", err)
	}
	s.m.refreshed.Inc()
	return s.issue(sess, refresh)
}

// Logout revokes the session of id.
func (s *Service) Logout(ctx context.Context, id Identity) error {
	return s.RevokeSession(ctx, id.SessionID, ReasonLogout)
}

// LogoutAll revokes every active session of id's player.
func (s *Service) LogoutAll(ctx context.Context, id Identity) error {
	return s.RevokePlayer(ctx, id.PlayerID, ReasonLogoutAll)
}

// RevokeSession revokes one session for reason. ErrNotFound if it does not
// exist; revoking a revoked session is not an error.
func (s *Service) RevokeSession(ctx context.Context, id uuid.UUID, reason string) error {
	sctx, cancel := s.storeCtx(ctx)
	defer cancel()
	start := time.Now()
	sess, err := s.store.RevokeSession(sctx, id, s.now(), reason)
	s.m.storeDone("revoke_session", start, err)
	if err != nil {
		return fmt.Errorf("revoke session %s: %w", id, err)
	}
	if sess.RevokedReason == reason {
		s.m.revoked.WithLabelValues(reason).Inc()
	}
	return nil
}

// RevokePlayer revokes every active session of a player for reason.
// ErrNotFound if there is no such player.
func (s *Service) RevokePlayer(ctx context.Context, playerID uuid.UUID, reason string) error {
	sctx, cancel := s.storeCtx(ctx)
	defer cancel()
	start := time.Now()
	_, err := s.store.Player(sctx, playerID)
	s.m.storeDone("player", start, err)
	if err != nil {
		return fmt.Errorf("revoke player %s: %w", playerID, err)
	}
	start = time.Now()
	revoked, err := s.store.RevokePlayerSessions(sctx, playerID, s.now(), reason)
	s.m.storeDone("revoke_player_sessions", start, err)
	if err != nil {
		return fmt.Errorf("revoke player %s: %w", playerID, err)
	}
	s.m.revoked.WithLabelValues(reason).Add(float64(len(revoked)))
	return nil
}

// Sessions lists a player's sessions, oldest first: only the active ones, or
// with all every stored row (revoked and expired included).
func (s *Service) Sessions(ctx context.Context, playerID uuid.UUID, all bool) ([]Session, error) {
	sctx, cancel := s.storeCtx(ctx)
	defer cancel()
	start := time.Now()
	list, err := s.store.PlayerSessions(sctx, playerID, s.now(), all)
	s.m.storeDone("player_sessions", start, err)
	if err != nil {
		return nil, fmt.Errorf("list sessions of player %s: %w", playerID, err)
	}
	return list, nil
}

// Sweep deletes expired sessions (and players left without any) once.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	sctx, cancel := s.storeCtx(ctx)
	defer cancel()
	start := time.Now()
	n, err := s.store.DeleteExpired(sctx, s.now())
	s.m.storeDone("delete_expired", start, err)
	if err != nil {
		return n, fmt.Errorf("sweep expired sessions: %w", err)
	}
	return n, nil
}

// Run sweeps expired sessions every CleanupInterval until ctx ends, then
// returns nil. A failed sweep is logged and retried at the next tick. With
// a Feed, it also records the last use of the sessions the fast path let
// in, every TouchInterval and once more when ctx ends (within the store
// timeout), and forgets the revocations no token can meet any more.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.opts.CleanupInterval)
	defer t.Stop()
	var touch <-chan time.Time
	if s.feed != nil {
		tt := time.NewTicker(s.opts.TouchInterval)
		defer tt.Stop()
		touch = tt.C
	}
	for {
		select {
		case <-ctx.Done():
			s.flushTouches(context.WithoutCancel(ctx))
			return nil
		case <-touch:
			s.flushTouches(ctx)
			s.pruneRevoked()
		case <-t.C:
			n, err := s.Sweep(ctx)
			if err != nil {
				s.log.Error().Err(err).Msg("sweep failed")
				continue
			}
			if n > 0 {
				s.log.Info().Int("deleted", n).Msg("expired sessions swept")
			}
		}
	}
}

// newRefreshToken returns a fresh refresh token and its hash.
func newRefreshToken() (string, []byte, error) {
	b := make([]byte, refreshTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("new refresh token: %w", err)
	}
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(b), sum[:], nil
}

// refreshHash checks the shape of a presented refresh token and hashes it.
func refreshHash(token string) ([]byte, error) {
	if len(token) != base64.RawURLEncoding.EncodedLen(refreshTokenBytes) {
		return nil, fmt.Errorf("refresh token of %d bytes: %w", len(token), ErrInvalidToken)
	}
	// Strict: the last character's two unused bits must be zero, so that
	// one token has one spelling.
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return nil, fmt.Errorf("refresh token not base64url: %w", ErrInvalidToken)
	}
	sum := sha256.Sum256(b)
	return sum[:], nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
