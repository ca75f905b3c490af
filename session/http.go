package session

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
)

// maxBodyBytes caps every request body the session API reads.
const maxBodyBytes = 8 << 10

// ClientIPFunc returns the client address of a request (the socket peer, or
// the X-Forwarded-For hop a trusted proxy vouches for).
type ClientIPFunc func(*http.Request) string

type identityKey struct{}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityFrom returns the identity RequireBearer put in ctx.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// BearerToken extracts the token of an "Authorization: Bearer" header. It
// returns ErrMissingToken when there is no Authorization header and
// ErrInvalidToken when the header is not a Bearer credential.
func BearerToken(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", ErrMissingToken
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", fmt.Errorf("authorization header is not a bearer token: %w", ErrInvalidToken)
	}
	return strings.TrimSpace(tok), nil
}

// RequireBearer is middleware that validates the request's Bearer token with
// svc and puts the identity in the request context; otherwise it answers 401.
func RequireBearer(svc *Service, log zerolog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, err := BearerToken(r)
			if err == nil {
				var id Identity
				id, err = svc.Validate(r.Context(), tok)
				if err == nil {
					next.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
					return
				}
			}
			writeError(w, log, err)
		})
	}
}

// RequireAdmin is middleware that admits only requests bearing the admin
// token (compared in constant time): 401 without a token, 403 with another.
func RequireAdmin(adminToken string, log zerolog.Logger) func(http.Handler) http.Handler {
	// Compare digests: ConstantTimeCompare returns early on a length
	// mismatch, which would leak the admin token's length.
	want := sha256.Sum256([]byte(adminToken))
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, err := BearerToken(r)
			if errors.Is(err, ErrMissingToken) {
				writeError(w, log, err)
				return
			}
			got := sha256.Sum256([]byte(tok))
			if err != nil || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
				WriteError(w, http.StatusForbidden, "forbidden", "admin token required")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

type sessionBody struct {
	SessionID        uuid.UUID `json:"session_id"`
	PlayerID         uuid.UUID `json:"player_id"`
	Username         string    `json:"username"`
	Token            string    `json:"token"`
	ExpiresAt        time.Time `json:"expires_at"`
	RefreshToken     string    `json:"refresh_token"`
	SessionExpiresAt time.Time `json:"session_expires_at"`
}

func issuedBody(is Issued) sessionBody {
	return sessionBody{
		SessionID:        is.Session.ID,
		PlayerID:         is.Session.PlayerID,
		Username:         is.Session.Username,
		Token:            is.Token,
		ExpiresAt:        is.ExpiresAt.UTC(),
		RefreshToken:     is.RefreshToken,
		SessionExpiresAt: is.Session.ExpiresAt.UTC(),
	}
}

// clientInfo describes the client of r, as sent: the Service and the
// stores record it as ClientInfo.Recorded returns it.
func clientInfo(r *http.Request, clientIP ClientIPFunc) ClientInfo {
	return ClientInfo{IP: clientIP(r), UserAgent: r.UserAgent()}
}

// HandleCreate serves POST /session: a new player without a token, a new
// session of the same player with a valid one, 401 with an invalid one.
func HandleCreate(svc *Service, clientIP ClientIPFunc, log zerolog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := BearerToken(r)
		if errors.Is(err, ErrMissingToken) {
			tok, err = "", nil
		}
		if err != nil {
			writeError(w, log, err)
			return
		}
		is, err := svc.Create(r.Context(), tok, clientInfo(r, clientIP))
		if err != nil {
			writeError(w, log, err)
			return
		}
		log.Info().Str("session_id", is.Session.ID.String()).Str("player_id", is.Session.PlayerID.String()).Msg("session created")
		encode(w, http.StatusCreated, issuedBody(is))
	})
}

// HandleValidate serves GET /session/validate behind RequireBearer.
func HandleValidate() http.Handler {
	type identityBody struct {
		SessionID        uuid.UUID `json:"session_id"`
		PlayerID         uuid.UUID `json:"player_id"`
		Username         string    `json:"username"`
		ExpiresAt        time.Time `json:"expires_at"`
		SessionExpiresAt time.Time `json:"session_expires_at"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := IdentityFrom(r.Context())
		encode(w, http.StatusOK, identityBody{
			SessionID:        id.SessionID,
			PlayerID:         id.PlayerID,
			Username:         id.Username,
			ExpiresAt:        id.ExpiresAt.UTC(),
			SessionExpiresAt: id.SessionExpiresAt.UTC(),
		})
	})
}

// HandleRefresh serves POST /session/refresh with body {"refresh_token":"..."}.
func HandleRefresh(svc *Service, clientIP ClientIPFunc, log zerolog.Logger) http.Handler {
	type request struct {
		RefreshToken *string `json:"refresh_token"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			writeError(w, log, err)
			return
		}
		if req.RefreshToken == nil || *req.RefreshToken == "" {
			writeError(w, log, badRequest("refresh_token is required"))
			return
		}
		is, err := svc.Refresh(r.Context(), *req.RefreshToken, clientInfo(r, clientIP))
		if err != nil {
			writeError(w, log, err)
			return
		}
		encode(w, http.StatusOK, issuedBody(is))
	})
}

// HandleLogout serves DELETE /session behind RequireBearer.
func HandleLogout(svc *Service, log zerolog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := IdentityFrom(r.Context())
		if err := svc.Logout(r.Context(), id); err != nil {
			writeError(w, log, err)
			return
		}
		log.Info().Str("session_id", id.SessionID.String()).Msg("logout")
		w.WriteHeader(http.StatusNoContent)
	})
}

// HandleLogoutAll serves DELETE /sessions behind RequireBearer.
func HandleLogoutAll(svc *Service, log zerolog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := IdentityFrom(r.Context())
		if err := svc.LogoutAll(r.Context(), id); err != nil {
			writeError(w, log, err)
			return
		}
		log.Info().Str("player_id", id.PlayerID.String()).Msg("logout everywhere")
		w.WriteHeader(http.StatusNoContent)
	})
}

// sessionInfo is a session in a listing.
type sessionInfo struct {
	SessionID     uuid.UUID  `json:"session_id"`
	CreatedAt     time.Time  `json:"created_at"`
	LastSeenAt    time.Time  `json:"last_seen_at"`
	ExpiresAt     time.Time  `json:"expires_at"`
	IP            string     `json:"ip"`
	UserAgent     string     `json:"user_agent"`
	Current       *bool      `json:"current,omitempty"`
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
	RevokedReason string     `json:"revoked_reason,omitempty"`
}

func listing(list []Session, current uuid.UUID, admin bool) map[string][]sessionInfo {
	out := make([]sessionInfo, 0, len(list))
	for _, s := range list {
		info := sessionInfo{
			SessionID:  s.ID,
			CreatedAt:  s.CreatedAt.UTC(),
			LastSeenAt: s.LastSeenAt.UTC(),
			ExpiresAt:  s.ExpiresAt.UTC(),
			IP:         s.IP,
			UserAgent:  s.UserAgent,
		}
		if admin {
			if s.Revoked() {
				at := s.RevokedAt.UTC()
				info.RevokedAt = &at
				info.RevokedReason = s.RevokedReason
			}
		} else {
			cur := s.ID == current
			info.Current = &cur
		}
		out = append(out, info)
	}
	return map[string][]sessionInfo{"sessions": out}
}

// HandleSessions serves GET /sessions behind RequireBearer: the caller's
// player's active sessions, the caller's own marked current.
func HandleSessions(svc *Service, log zerolog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := IdentityFrom(r.Context())
		list, err := svc.Sessions(r.Context(), id.PlayerID, false)
		if err != nil {
			writeError(w, log, err)
			return
		}
		encode(w, http.StatusOK, listing(list, id.SessionID, false))
	})
}

// HandleAdminSessions serves GET /admin/sessions?player_id= behind
// RequireAdmin: every stored session of the player, revoked ones included.
func HandleAdminSessions(svc *Service, log zerolog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pid, err := uuid.Parse(r.URL.Query().Get("player_id"))
		if err != nil {
			writeError(w, log, badRequest("player_id must be a UUID"))
			return
		}
		list, err := svc.Sessions(r.Context(), pid, true)
		if err != nil {
			writeError(w, log, err)
			return
		}
		encode(w, http.StatusOK, listing(list, uuid.Nil, true))
	})
}

// HandleAdminRevokeSession serves DELETE /admin/sessions/{id}.
func HandleAdminRevokeSession(svc *Service, log zerolog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sid, err := uuid.Parse(r.PathValue("id"))
		if err != nil {
			writeError(w, log, badRequest("session id must be a UUID"))
			return
		}
		if err := svc.RevokeSession(r.Context(), sid, ReasonAdmin); err != nil {
			writeError(w, log, err)
			return
		}
		log.Info().Str("session_id", sid.String()).Msg("admin revoked session")
		w.WriteHeader(http.StatusNoContent)
	})
}

// HandleAdminRevokePlayer serves DELETE /admin/players/{id}/sessions.
func HandleAdminRevokePlayer(svc *Service, log zerolog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pid, err := uuid.Parse(r.PathValue("id"))
		if err != nil {
			writeError(w, log, badRequest("player id must be a UUID"))
			return
		}
		if err := svc.RevokePlayer(r.Context(), pid, ReasonAdminPlayer); err != nil {
			writeError(w, log, err)
			return
		}
		log.Info().Str("player_id", pid.String()).Msg("admin revoked player sessions")
		w.WriteHeader(http.StatusNoContent)
	})
}

// requestError is a malformed request: 400 invalid_request.
type requestError struct{ msg string }

func (e *requestError) Error() string { return e.msg }

func badRequest(msg string) error { return &requestError{msg: msg} }

// decode reads one JSON object of at most maxBodyBytes into v; nothing but
// whitespace may follow it. (json.Decoder.More is no check for that: it
// reports false before a '}' or ']', taking it for the end of an enclosing
// value, so {"a":1}}] would pass.)
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	tooLarge := badRequest(fmt.Sprintf("request body over %d bytes", maxBodyBytes))
	var maxErr *http.MaxBytesError
	if err := dec.Decode(v); err != nil {
		if errors.As(err, &maxErr) {
			return tooLarge
		}
		if errors.Is(err, io.EOF) {
			return badRequest("request body is empty")
		}
		return badRequest("request body is not a valid JSON object")
	}
	// At the end of the body, Token skips the whitespace and reports
	// io.EOF; anything else (a token or a syntax error) is data after the
	// object.
	switch _, err := dec.Token(); {
	case errors.Is(err, io.EOF):
		return nil
	case errors.As(err, &maxErr):
		return tooLarge
	}
	return badRequest("request body has data after the JSON object")
}

// encode writes v as JSON with status.
func encode(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client hung up; nothing to do
}

// WriteError writes the contract's JSON error body
// {"error":{"code","message"}} with status.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	type errBody struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	encode(w, status, map[string]errBody{"error": {Code: code, Message: message}})
}

// writeError maps err to the contract's status and code: the session API's
// only mapping. Unknown errors are logged and answered 500.
func writeError(w http.ResponseWriter, log zerolog.Logger, err error) {
	var reqErr *requestError
	switch {
	case errors.As(err, &reqErr):
		WriteError(w, http.StatusBadRequest, "invalid_request", reqErr.msg)
	case errors.Is(err, context.Canceled):
		// The client hung up: nobody reads this answer, and it is not our
		// fault or the store's, so it is not logged as an error.
		log.Debug().Err(err).Msg("request canceled")
		WriteError(w, http.StatusServiceUnavailable, "canceled", "request canceled")
	default:
		c, ok := CodeOf(err)
		switch {
		case !ok:
			log.Error().Err(err).Msg("internal error")
			WriteError(w, http.StatusInternalServerError, "internal", "internal error")
			return
		case c.Err == ErrMissingToken:
			w.Header().Set("WWW-Authenticate", `Bearer realm="gateway"`)
		case c.Unauthorized():
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="gateway", error="invalid_token", error_description=%q`, c.Name))
		case c.Err == ErrUnavailable:
			log.Error().Err(err).Msg("store unavailable")
		}
		WriteError(w, c.Status, c.Name, c.Message)
	}
}
