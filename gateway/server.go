package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bigtwo/gateway/session"
	"github.com/coder/websocket"
	"github.com/rs/zerolog"
)

// Authenticator is all the gateway needs from the session layer:
// session.Service implements it. Errors wrap the session package's
// sentinels (ErrMissingToken, ErrInvalidToken, ErrTokenExpired, ErrRevoked,
// ErrExpired, ErrUnavailable).
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (session.Identity, error)
}

// Handler is the room module: it sees only authenticated sockets.
//
// Connect is called once per socket after its welcome frame is queued; if it
// returns an error the socket is closed with 1011 and neither Message nor
// Disconnect follows. Message is called for every frame whose type is not
// the gateway's own (auth, ping, pong, auth.refresh), in order, one at a
// time per socket, on a goroutine of that socket (not its reader, so a
// slow Message delays neither heartbeats nor other sockets); a type the
// Handler does not know should be answered with Error{Code:
// "unknown_type"}. Returning an Error answers the request with an error
// frame, any other error closes the socket with 1011. Answers go through
// Conn.Reply (backpressure, never 1013 at once), frames for others through
// Conn.Send. Disconnect is called once, after the last Message has
// returned, with the reason the socket ended (a websocket.CloseError with
// the code the socket was closed with, when there is one).
//
// ctx is canceled when the socket starts closing. Implementations must be
// safe for concurrent use across sockets and should not block for long:
// while a socket's Message runs, up to 64 further frames of that socket wait.
type Handler interface {
	Connect(ctx context.Context, c *Conn) error
	Message(ctx context.Context, c *Conn, m Message) error
	Disconnect(c *Conn, reason error)
}

// Server accepts WebSockets on GET /ws, authenticates them, routes their
// frames to a Handler and closes them on revocation, expiry, abuse and
// drain. It is safe for concurrent use.
type Server struct {
	auth    Authenticator
	h       Handler
	log     zerolog.Logger
	opts    Options
	metrics *Metrics // opts.Metrics
	reg     *registry
	nextID  atomic.Uint64
	// frames holds read buffers (*[]byte) between frames: a socket takes
	// one only once a frame has begun to arrive (an idle socket holds
	// none) and gives it back unless the frame was handed on.
	frames sync.Pool
	// started is when the Server was made, by the monotonic clock: sockets
	// record when they last heard from their peer as the time since.
	started time.Time
}

// NewServer returns a Server that authenticates with auth and hands sockets
// to h. Invalid AllowedOrigins patterns are logged and never match.
func NewServer(auth Authenticator, h Handler, log zerolog.Logger, opts Options) *Server {
	opts = opts.withDefaults()
	for _, p := range opts.AllowedOrigins {
		if _, err := path.Match(p, ""); err != nil {
			log.Error().Str("pattern", p).Msg("invalid allowed origin pattern")
		}
	}
	return &Server{auth: auth, h: h, log: log, opts: opts, metrics: opts.Metrics, reg: newRegistry(opts.Metrics.sockets), started: time.Now()}
}

// ServeHTTP serves GET /ws. Refusals before the upgrade carry the
// contract's JSON error body; an invalid handshake token completes the
// upgrade and then closes with 4001 so that browsers can tell it apart from
// a network error. ServeHTTP returns once the socket is admitted (or has
// ended); an admitted socket lives on, on a reader goroutine that Shutdown
// waits for.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if status, code, msg := checkUpgrade(w, r); status != 0 {
		s.refuseUpgrade(w, status, code, msg)
		return
	}
	if !originAllowed(r, s.opts.AllowedOrigins) {
		s.refuseUpgrade(w, http.StatusForbidden, "origin_not_allowed", "this Origin may not open sockets here")
		return
	}
	ip := s.opts.ClientIP(r)
	draining, full := s.reg.reserve(ip, s.opts.MaxPending, s.opts.MaxPendingPerIP, s.opts.MaxSocketsPerIP)
	switch {
	case draining:
		s.refuseUpgrade(w, http.StatusServiceUnavailable, "draining", "server is shutting down")
		return
	case errors.Is(full, errTooManyPendingAll):
		// Counted apart from the per-address refusals: this one says the
		// process is saturated (or flooded from many addresses).
		w.Header().Set("Retry-After", "1")
		s.metrics.refused("too_many_pending_server")
		writeError(w, http.StatusServiceUnavailable, "too_many_pending", "too many unauthenticated sockets on this server, try again")
		return
	case errors.Is(full, errTooManyPending):
		w.Header().Set("Retry-After", "1")
		s.refuseUpgrade(w, http.StatusTooManyRequests, "too_many_pending", "too many unauthenticated sockets from this address")
		return
	case full != nil:
		w.Header().Set("Retry-After", "5")
		s.refuseUpgrade(w, http.StatusTooManyRequests, "too_many_sockets", "too many sockets from this address")
		return
	}
	handedOff := false
	defer func() {
		if !handedOff {
			s.reg.unreserve(ip)
			s.reg.active.Done()
		}
	}()

	hs := handshake{source: tokenSource(r), authStart: s.opts.Now()}
	if hs.source.present {
		hs.id, hs.err = s.authenticate(r.Context(), hs.source.token)
	}
	hw := &hijackRecorder{ResponseWriter: w, readBuf: s.opts.ReadBufferSize, writeBuf: s.opts.WriteBufferSize}
	ws, err := websocket.Accept(hw, r, &websocket.AcceptOptions{
		Subprotocols:       []string{subprotocol},
		InsecureSkipVerify: true, // originAllowed has checked, with a JSON 403
	})
	if err != nil {
		s.metrics.refused("error")
		s.log.Debug().Err(err).Msg("websocket accept")
		return
	}
	// r.Context() ends with this call: the socket keeps only its values.
	c := newConn(s, ws, hw.conn, ip, context.WithoutCancel(r.Context()))
	handedOff = true
	s.open(c, hs)
}

// authenticate calls the Authenticator with the auth timeout. An empty token
// (a present but empty or non-Bearer source) is invalid without a call.
func (s *Server) authenticate(ctx context.Context, token string) (session.Identity, error) {
	if token == "" {
		return session.Identity{}, fmt.Errorf("authenticate: %w", session.ErrInvalidToken)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.AuthTimeout)
	defer cancel()
	id, err := s.auth.Authenticate(ctx, token)
	if err != nil {
		return session.Identity{}, fmt.Errorf("authenticate: %w", err)
	}
	return id, nil
}

// Revoked closes every socket of r.SessionID with 4003. It does not block
// and is safe from any goroutine, e.g. a store's revocation callback.
func (s *Server) Revoked(r session.Revocation) {
	for _, c := range s.reg.revoke(r.SessionID, s.opts.Now()) {
		if c.close(StatusRevoked, "session revoked", false) {
			s.log.Info().Uint64("conn", c.id).Str("session_id", r.SessionID.String()).
				Str("reason", r.Reason).Msg("closing revoked session socket")
		}
	}
}

// Shutdown drains the server: new upgrades are refused with 503, and every
// socket is told to close with 1001 at once, after the frames already
// queued for it (this only signals each
// socket's writer, which then runs the close handshake), so that every
// healthy peer gets its 1001 promptly however many peers are slow or
// silent. Shutdown then waits for every socket to end.
//
// If ctx ends first, the sockets still open are dropped at once, without a
// close handshake (their connections are closed underneath), and Shutdown
// returns ctx's error within abortGrace of ctx's end: a Handler call that
// ignores its canceled ctx (Connect, Message or Disconnect still running)
// is cut off, that is, Shutdown returns without waiting for it, and the
// socket's end is completed in the background once it returns. It may be
// called more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	conns := s.reg.drain()
	if len(conns) > 0 {
		s.log.Info().Int("sockets", len(conns)).Msg("draining sockets")
	}
	for _, c := range conns {
		c.close(websocket.StatusGoingAway, "server shutting down", true) // answers already queued go first
	}
	done := make(chan struct{})
	go func() { // ends when every socket has: see abort below
		s.reg.active.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	left := s.reg.abort()
	for _, c := range left {
		c.abort()
	}
	grace := time.NewTimer(abortGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		s.log.Warn().Int("sockets", len(left)).Msg("drain deadline passed with socket handlers still running")
	}
	return fmt.Errorf("drain: %w", ctx.Err())
}

// Draining reports whether Shutdown has been called (for readiness).
func (s *Server) Draining() bool { return s.reg.isDraining() }

// Sockets returns the number of live authenticated sockets.
func (s *Server) Sockets() int { return s.reg.count() }

// checkUpgrade does coder/websocket's handshake checks itself, so that
// refusals carry the JSON error body instead of Accept's plain text. It
// returns a zero status when the request is a valid upgrade.
func checkUpgrade(w http.ResponseWriter, r *http.Request) (status int, code, msg string) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		return http.StatusMethodNotAllowed, "method_not_allowed", "use GET to open a WebSocket"
	}
	if !r.ProtoAtLeast(1, 1) || !headerHasToken(r.Header, "Connection", "upgrade") ||
		!headerHasToken(r.Header, "Upgrade", "websocket") {
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "websocket")
		return http.StatusUpgradeRequired, "upgrade_required", "this endpoint speaks WebSocket only"
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		return http.StatusUpgradeRequired, "upgrade_required", "only WebSocket version 13 is supported"
	}
	if keys := r.Header.Values("Sec-WebSocket-Key"); len(keys) != 1 || !validKey(keys[0]) {
		return http.StatusBadRequest, "bad_request", "missing or invalid Sec-WebSocket-Key"
	}
	return 0, "", ""
}

// originAllowed mirrors coder/websocket's origin check: no Origin, the
// request's own host, or a match of one of patterns.
func originAllowed(r *http.Request, patterns []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(r.Host, u.Host) || MatchOrigin(patterns, u)
}

// MatchOrigin reports whether the browser origin u matches one of patterns
// (Options.AllowedOrigins) as coder/websocket's OriginPatterns do: a pattern
// with "://" against scheme://host, any other against host[:port], with
// path.Match, case-insensitively. The HTTP API's CORS uses it too, so one
// setting governs both.
func MatchOrigin(patterns []string, u *url.URL) bool {
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, err := path.Match(strings.ToLower(p), strings.ToLower(target)); err == nil && ok {
			return true
		}
	}
	return false
}

// refuseUpgrade answers an upgrade request with the contract's JSON error body
// and counts the refusal.
func (s *Server) refuseUpgrade(w http.ResponseWriter, status int, code, msg string) {
	s.metrics.refused(code)
	writeError(w, status, code, msg)
}

// writeError writes the contract's JSON error body.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]Error{"error": {Code: code, Message: msg}})
}
