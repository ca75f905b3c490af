package session_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/bigtwo/gateway/session"
	"github.com/bigtwo/gateway/store/memory"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// api is a session API over the memory store behind a real HTTP server.
type api struct {
	url   string
	svc   *session.Service
	store *memory.Store
	keys  *session.KeyRing
	clock *clock
}

const adminToken = "admin-secret-for-tests"

func newAPI(t *testing.T, opts session.Options) *api {
	t.Helper()
	keys, err := session.NewKeyRing([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	opts.Now = clk.Now
	st := memory.New()
	log := zerolog.New(zerolog.NewTestWriter(t))
	svc := session.NewService(st, keys, log, opts)
	ip := func(r *http.Request) string { return "192.0.2.1" }
	bearer := session.RequireBearer(svc, log)
	admin := session.RequireAdmin(adminToken, log)
	mux := http.NewServeMux()
	mux.Handle("POST /session", session.HandleCreate(svc, ip, log))
	mux.Handle("GET /session/validate", bearer(session.HandleValidate()))
	mux.Handle("POST /session/refresh", session.HandleRefresh(svc, ip, log))
	mux.Handle("DELETE /session", bearer(session.HandleLogout(svc, log)))
	mux.Handle("GET /sessions", bearer(session.HandleSessions(svc, log)))
	mux.Handle("DELETE /sessions", bearer(session.HandleLogoutAll(svc, log)))
	mux.Handle("GET /admin/sessions", admin(session.HandleAdminSessions(svc, log)))
	mux.Handle("DELETE /admin/sessions/{id}", admin(session.HandleAdminRevokeSession(svc, log)))
	mux.Handle("DELETE /admin/players/{id}/sessions", admin(session.HandleAdminRevokePlayer(svc, log)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &api{url: srv.URL, svc: svc, store: st, keys: keys, clock: clk}
}

type sessionBody struct {
	SessionID        string `json:"session_id"`
	PlayerID         string `json:"player_id"`
	Username         string `json:"username"`
	Token            string `json:"token"`
	ExpiresAt        string `json:"expires_at"`
	RefreshToken     string `json:"refresh_token"`
	SessionExpiresAt string `json:"session_expires_at"`
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (a *api) do(t *testing.T, method, path, token, body string) response {
	t.Helper()
	res, err := a.try(t.Context(), method, path, token, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return res
}

// try is do without the test: safe from any goroutine.
func (a *api) try(ctx context.Context, method, path, token, body string) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.url+path, rd)
	if err != nil {
		return response{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}, err
}

func (a *api) create(t *testing.T, token string) sessionBody {
	t.Helper()
	res := a.do(t, "POST", "/session", token, "")
	if res.status != http.StatusCreated {
		t.Fatalf("POST /session = %d %s, want 201", res.status, res.body)
	}
	var s sessionBody
	decodeJSON(t, res.body, &s)
	return s
}

func (a *api) refresh(t *testing.T, refreshToken string) response {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"refresh_token": refreshToken})
	return a.do(t, "POST", "/session/refresh", "", string(b))
}

func decodeJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// wantError checks an error response: status, JSON code and, for 401s, the
// WWW-Authenticate header.
func wantError(t *testing.T, res response, status int, code string) {
	t.Helper()
	if res.status != status {
		t.Fatalf("status = %d (%s), want %d %s", res.status, res.body, status, code)
	}
	var e errorBody
	decodeJSON(t, res.body, &e)
	if e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("error = %+v, want code %q and a message", e.Error, code)
	}
	if status != http.StatusUnauthorized {
		return
	}
	want := `Bearer realm="gateway", error="invalid_token", error_description="` + code + `"`
	if code == "missing_token" {
		want = `Bearer realm="gateway"`
	}
	if got := res.header.Get("WWW-Authenticate"); got != want {
		t.Fatalf("WWW-Authenticate = %q, want %q", got, want)
	}
}

var usernameRE = regexp.MustCompile(`^[a-z]+(-[a-z]+)+(-[0-9]+)?$`)

func TestCreateNewPlayer(t *testing.T) {
	a := newAPI(t, session.Options{})
	s := a.create(t, "")
	if !usernameRE.MatchString(s.Username) {
		t.Errorf("username = %q, want a pet name", s.Username)
	}
	for name, v := range map[string]string{"session_id": s.SessionID, "player_id": s.PlayerID} {
		if _, err := uuid.Parse(v); err != nil {
			t.Errorf("%s = %q, want a UUID", name, v)
		}
	}
	if len(s.RefreshToken) < 43 { // 256 bits in base64url
		t.Errorf("refresh token of %d characters, want at least 43", len(s.RefreshToken))
	}
	for name, v := range map[string]string{"expires_at": s.ExpiresAt, "session_expires_at": s.SessionExpiresAt} {
		ts, err := time.Parse(time.RFC3339, v)
		if err != nil || !strings.HasSuffix(v, "Z") {
			t.Errorf("%s = %q, want RFC 3339 UTC", name, v)
		}
		if !ts.After(a.clock.Now()) {
			t.Errorf("%s = %v, want after now", name, ts)
		}
	}
	other := a.create(t, "")
	if other.PlayerID == s.PlayerID || other.Username == s.Username {
		t.Errorf("second anonymous create reused player %s / %s", s.PlayerID, s.Username)
	}
}

func TestCreateSecondDevice(t *testing.T) {
	a := newAPI(t, session.Options{})
	first := a.create(t, "")
	second := a.create(t, first.Token)
	if second.PlayerID != first.PlayerID || second.Username != first.Username {
		t.Fatalf("second device = %s/%s, want player %s/%s", second.PlayerID, second.Username, first.PlayerID, first.Username)
	}
	if second.SessionID == first.SessionID {
		t.Fatal("second device got the same session")
	}
}

func TestCreateWithBadTokenIsRefused(t *testing.T) {
	a := newAPI(t, session.Options{})
	wantError(t, a.do(t, "POST", "/session", "not-a-jwt", ""), 401, "invalid_token")

	req, _ := http.NewRequestWithContext(t.Context(), "POST", a.url+"/session", nil)
	req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("POST /session with Basic auth = %d, want 401", res.StatusCode)
	}
}

func TestEvictionPastPerPlayerLimit(t *testing.T) {
	a := newAPI(t, session.Options{MaxSessionsPerPlayer: 2})
	first := a.create(t, "")
	a.clock.Advance(time.Second)
	second := a.create(t, first.Token)
	a.clock.Advance(time.Second)
	third := a.create(t, second.Token)
	wantError(t, a.do(t, "GET", "/session/validate", first.Token, ""), 401, "session_revoked")
	for _, s := range []sessionBody{second, third} {
		if res := a.do(t, "GET", "/session/validate", s.Token, ""); res.status != 200 {
			t.Errorf("validate %s = %d, want 200", s.SessionID, res.status)
		}
	}
}

func TestEvictionUnderConcurrency(t *testing.T) {
	const limit, devices = 3, 12
	a := newAPI(t, session.Options{MaxSessionsPerPlayer: limit})
	first := a.create(t, "")
	var wg sync.WaitGroup
	for range devices {
		wg.Go(func() {
			// The first session may itself be evicted mid-way: 401 is fine.
			_, _ = a.try(t.Context(), "POST", "/session", first.Token, "")
		})
	}
	wg.Wait()
	pid := uuid.MustParse(first.PlayerID)
	active, err := a.svc.Sessions(t.Context(), pid, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(active) != limit {
		t.Fatalf("active sessions = %d, want %d", len(active), limit)
	}
}

func TestValidate(t *testing.T) {
	a := newAPI(t, session.Options{TokenTTL: time.Minute})
	s := a.create(t, "")
	res := a.do(t, "GET", "/session/validate", s.Token, "")
	if res.status != 200 {
		t.Fatalf("validate = %d %s", res.status, res.body)
	}
	var id struct {
		SessionID        string `json:"session_id"`
		PlayerID         string `json:"player_id"`
		Username         string `json:"username"`
		ExpiresAt        string `json:"expires_at"`
		SessionExpiresAt string `json:"session_expires_at"`
	}
	decodeJSON(t, res.body, &id)
	if id.SessionID != s.SessionID || id.PlayerID != s.PlayerID || id.Username != s.Username || id.ExpiresAt != s.ExpiresAt || id.SessionExpiresAt != s.SessionExpiresAt {
		t.Fatalf("identity = %+v, want that of %+v", id, s)
	}

	wantError(t, a.do(t, "GET", "/session/validate", "", ""), 401, "missing_token")
	wantError(t, a.do(t, "GET", "/session/validate", "garbage", ""), 401, "invalid_token")
	a.clock.Advance(2 * time.Minute)
	wantError(t, a.do(t, "GET", "/session/validate", s.Token, ""), 401, "token_expired")
}

func TestValidateExpiredSession(t *testing.T) {
	a := newAPI(t, session.Options{})
	now := a.clock.Now()
	p := session.Player{ID: uuid.New(), Username: "old-timer-1", CreatedAt: now.Add(-2 * time.Hour)}
	s := session.Session{
		ID: uuid.New(), PlayerID: p.ID, CreatedAt: p.CreatedAt, LastSeenAt: p.CreatedAt,
		ExpiresAt: now.Add(-time.Minute), MaxExpiresAt: now.Add(time.Hour), RefreshHash: []byte("h"),
	}
	if err := a.store.CreatePlayer(t.Context(), p, s); err != nil {
		t.Fatal(err)
	}
	tok, err := a.keys.Sign(session.AccessClaims{PlayerID: p.ID, SessionID: s.ID, Username: p.Username, IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, a.do(t, "GET", "/session/validate", tok, ""), 401, "session_expired")

	unknown, err := a.keys.Sign(session.AccessClaims{PlayerID: p.ID, SessionID: uuid.New(), Username: p.Username, IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, a.do(t, "GET", "/session/validate", unknown, ""), 401, "invalid_token")
}

func TestRefreshRotates(t *testing.T) {
	a := newAPI(t, session.Options{})
	s := a.create(t, "")
	a.clock.Advance(time.Second)
	res := a.refresh(t, s.RefreshToken)
	if res.status != 200 {
		t.Fatalf("refresh = %d %s", res.status, res.body)
	}
	var r sessionBody
	decodeJSON(t, res.body, &r)
	if r.SessionID != s.SessionID || r.PlayerID != s.PlayerID || r.Username != s.Username {
		t.Fatalf("refresh changed identity: %+v -> %+v", s, r)
	}
	if r.Token == s.Token || r.RefreshToken == s.RefreshToken {
		t.Fatal("refresh did not rotate both tokens")
	}
	if res := a.do(t, "GET", "/session/validate", r.Token, ""); res.status != 200 {
		t.Fatalf("validate new token = %d", res.status)
	}
	// A chain of rotations keeps working.
	for range 3 {
		a.clock.Advance(time.Second)
		res := a.refresh(t, r.RefreshToken)
		if res.status != 200 {
			t.Fatalf("refresh = %d %s", res.status, res.body)
		}
		decodeJSON(t, res.body, &r)
	}
}

func TestRefreshReuseRevokesSession(t *testing.T) {
	a := newAPI(t, session.Options{})
	s := a.create(t, "")
	res := a.refresh(t, s.RefreshToken)
	var r sessionBody
	decodeJSON(t, res.body, &r)

	wantError(t, a.refresh(t, s.RefreshToken), 401, "refresh_token_reused")
	wantError(t, a.do(t, "GET", "/session/validate", r.Token, ""), 401, "session_revoked")
	wantError(t, a.refresh(t, r.RefreshToken), 401, "session_revoked")
}

func TestRefreshErrors(t *testing.T) {
	a := newAPI(t, session.Options{SessionTTL: time.Hour})
	unknown := strings.Repeat("A", 43)
	tests := []struct {
		name, body, code string
		status           int
	}{
		{"empty body", "", "invalid_request", 400},
		{"not JSON", "refresh_token=x", "invalid_request", 400},
		{"array", `["x"]`, "invalid_request", 400},
		{"missing field", `{}`, "invalid_request", 400},
		{"wrong type", `{"refresh_token":42}`, "invalid_request", 400},
		{"trailing data", `{"refresh_token":"x"} {}`, "invalid_request", 400},
		{"too large", `{"refresh_token":"` + strings.Repeat("x", 10000) + `"}`, "invalid_request", 400},
		{"unknown token", `{"refresh_token":"` + unknown + `"}`, "invalid_token", 401},
		{"malformed token", `{"refresh_token":"short"}`, "invalid_token", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, a.do(t, "POST", "/session/refresh", "", tt.body), tt.status, tt.code)
		})
	}
	t.Run("expired session", func(t *testing.T) {
		s := a.create(t, "")
		a.clock.Advance(2 * time.Hour)
		wantError(t, a.refresh(t, s.RefreshToken), 401, "session_expired")
	})
	t.Run("revoked session", func(t *testing.T) {
		s := a.create(t, "")
		if res := a.do(t, "DELETE", "/session", s.Token, ""); res.status != 204 {
			t.Fatalf("logout = %d", res.status)
		}
		wantError(t, a.refresh(t, s.RefreshToken), 401, "session_revoked")
	})
}

// TestRefreshRefusesTrailingData: the body is one JSON value and nothing
// but whitespace after it. A closing bracket after the object (which
// json.Decoder.More takes for the end of an enclosing value) used to pass,
// and the session rotated.
func TestRefreshRefusesTrailingData(t *testing.T) {
	a := newAPI(t, session.Options{})
	s := a.create(t, "")
	body := `{"refresh_token":"` + s.RefreshToken + `"}`
	for _, trailer := range []string{"}", "]", "}}]]", " ]", "\n}", "{}", "x", `"x"`, "0"} {
		t.Run(trailer, func(t *testing.T) {
			wantError(t, a.do(t, "POST", "/session/refresh", "", body+trailer), 400, "invalid_request")
		})
	}
	// Nothing rotated: the refresh token is still the session's newest, and
	// trailing whitespace is fine.
	if res := a.do(t, "POST", "/session/refresh", "", body+" \r\n\t"); res.status != 200 {
		t.Fatalf("refresh with trailing whitespace = %d %s, want 200", res.status, res.body)
	}
}

// TestRefreshTokenHasOneSpelling: 32 bytes take 43 base64url characters,
// whose last carries two unused bits. Any other value of those bits is
// another spelling of the same bytes, and is refused like any unknown
// token; the session is untouched.
func TestRefreshTokenHasOneSpelling(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	a := newAPI(t, session.Options{})
	s := a.create(t, "")
	last := strings.IndexByte(alphabet, s.RefreshToken[len(s.RefreshToken)-1])
	if last&3 != 0 {
		t.Fatalf("refresh token %q: unused bits set", s.RefreshToken)
	}
	for bits := 1; bits <= 3; bits++ {
		other := s.RefreshToken[:len(s.RefreshToken)-1] + string(alphabet[last|bits])
		wantError(t, a.refresh(t, other), 401, "invalid_token")
	}
	if res := a.refresh(t, s.RefreshToken); res.status != 200 {
		t.Fatalf("refresh with the token as issued = %d %s, want 200", res.status, res.body)
	}
}

func TestRefreshRaceOneWins(t *testing.T) {
	a := newAPI(t, session.Options{})
	s := a.create(t, "")
	const racers = 8
	var ok, reused atomic.Int32
	var wg sync.WaitGroup
	for range racers {
		wg.Go(func() {
			res, err := a.try(t.Context(), "POST", "/session/refresh", "", `{"refresh_token":"`+s.RefreshToken+`"}`)
			if err != nil {
				return
			}
			switch res.status {
			case 200:
				ok.Add(1)
			case 401:
				var e errorBody
				_ = json.Unmarshal(res.body, &e)
				if e.Error.Code == "refresh_token_reused" || e.Error.Code == "session_revoked" {
					reused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || reused.Load() != racers-1 {
		t.Fatalf("refresh race: %d won, %d refused as reuse, want 1 and %d", ok.Load(), reused.Load(), racers-1)
	}
}

func TestLogout(t *testing.T) {
	a := newAPI(t, session.Options{})
	s := a.create(t, "")
	other := a.create(t, s.Token)
	if res := a.do(t, "DELETE", "/session", s.Token, ""); res.status != 204 {
		t.Fatalf("logout = %d %s", res.status, res.body)
	}
	wantError(t, a.do(t, "GET", "/session/validate", s.Token, ""), 401, "session_revoked")
	wantError(t, a.do(t, "DELETE", "/session", s.Token, ""), 401, "session_revoked")
	wantError(t, a.do(t, "DELETE", "/session", "", ""), 401, "missing_token")
	if res := a.do(t, "GET", "/session/validate", other.Token, ""); res.status != 200 {
		t.Fatalf("other device after logout = %d, want 200", res.status)
	}
}

func TestListAndLogoutEverywhere(t *testing.T) {
	a := newAPI(t, session.Options{})
	s := a.create(t, "")
	a.clock.Advance(time.Second)
	other := a.create(t, s.Token)
	stranger := a.create(t, "")

	res := a.do(t, "GET", "/sessions", other.Token, "")
	if res.status != 200 {
		t.Fatalf("GET /sessions = %d %s", res.status, res.body)
	}
	var list struct {
		Sessions []struct {
			SessionID  string `json:"session_id"`
			CreatedAt  string `json:"created_at"`
			LastSeenAt string `json:"last_seen_at"`
			ExpiresAt  string `json:"expires_at"`
			IP         string `json:"ip"`
			UserAgent  string `json:"user_agent"`
			Current    bool   `json:"current"`
		} `json:"sessions"`
	}
	decodeJSON(t, res.body, &list)
	if len(list.Sessions) != 2 {
		t.Fatalf("sessions = %d, want 2: %s", len(list.Sessions), res.body)
	}
	if list.Sessions[0].SessionID != s.SessionID || list.Sessions[0].Current || list.Sessions[1].SessionID != other.SessionID || !list.Sessions[1].Current {
		t.Fatalf("listing = %s, want %s then current %s", res.body, s.SessionID, other.SessionID)
	}
	if list.Sessions[0].IP != "192.0.2.1" || list.Sessions[0].UserAgent == "" || list.Sessions[0].CreatedAt == "" {
		t.Fatalf("metadata missing: %+v", list.Sessions[0])
	}

	if res := a.do(t, "DELETE", "/sessions", s.Token, ""); res.status != 204 {
		t.Fatalf("DELETE /sessions = %d", res.status)
	}
	for _, tok := range []string{s.Token, other.Token} {
		wantError(t, a.do(t, "GET", "/session/validate", tok, ""), 401, "session_revoked")
	}
	if res := a.do(t, "GET", "/session/validate", stranger.Token, ""); res.status != 200 {
		t.Fatalf("another player after logout everywhere = %d, want 200", res.status)
	}
}

func TestAdmin(t *testing.T) {
	a := newAPI(t, session.Options{})
	s := a.create(t, "")
	a.clock.Advance(time.Second)
	other := a.create(t, s.Token)
	if res := a.do(t, "DELETE", "/session", s.Token, ""); res.status != 204 {
		t.Fatal("logout failed")
	}

	wantError(t, a.do(t, "GET", "/admin/sessions?player_id="+s.PlayerID, "", ""), 401, "missing_token")
	wantError(t, a.do(t, "GET", "/admin/sessions?player_id="+s.PlayerID, other.Token, ""), 403, "forbidden")
	wantError(t, a.do(t, "GET", "/admin/sessions?player_id=nope", adminToken, ""), 400, "invalid_request")

	res := a.do(t, "GET", "/admin/sessions?player_id="+s.PlayerID, adminToken, "")
	if res.status != 200 {
		t.Fatalf("admin list = %d %s", res.status, res.body)
	}
	var list struct {
		Sessions []map[string]any `json:"sessions"`
	}
	decodeJSON(t, res.body, &list)
	if len(list.Sessions) != 2 || list.Sessions[0]["revoked_reason"] != "logout" || list.Sessions[0]["revoked_at"] == nil || list.Sessions[1]["revoked_at"] != nil {
		t.Fatalf("admin listing = %s, want the revoked session with reason and the live one", res.body)
	}

	if res := a.do(t, "DELETE", "/admin/sessions/"+other.SessionID, adminToken, ""); res.status != 204 {
		t.Fatalf("admin revoke session = %d %s", res.status, res.body)
	}
	wantError(t, a.do(t, "GET", "/session/validate", other.Token, ""), 401, "session_revoked")
	wantError(t, a.do(t, "DELETE", "/admin/sessions/"+uuid.NewString(), adminToken, ""), 404, "not_found")
	wantError(t, a.do(t, "DELETE", "/admin/sessions/xyz", adminToken, ""), 400, "invalid_request")

	third := a.create(t, "")
	fourth := a.create(t, third.Token)
	if res := a.do(t, "DELETE", "/admin/players/"+third.PlayerID+"/sessions", adminToken, ""); res.status != 204 {
		t.Fatalf("admin revoke player = %d %s", res.status, res.body)
	}
	for _, tok := range []string{third.Token, fourth.Token} {
		wantError(t, a.do(t, "GET", "/session/validate", tok, ""), 401, "session_revoked")
	}
	wantError(t, a.do(t, "DELETE", "/admin/players/"+uuid.NewString()+"/sessions", adminToken, ""), 404, "not_found")
}

func TestSweepDeletesExpired(t *testing.T) {
	a := newAPI(t, session.Options{SessionTTL: time.Hour})
	s := a.create(t, "")
	a.clock.Advance(2 * time.Hour)
	fresh := a.create(t, "")
	n, err := a.svc.Sweep(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("Sweep() = %d, %v, want 1, nil", n, err)
	}
	wantError(t, a.refresh(t, s.RefreshToken), 401, "invalid_token")
	if res := a.do(t, "GET", "/session/validate", fresh.Token, ""); res.status != 200 {
		t.Fatalf("fresh session after sweep = %d", res.status)
	}
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRunSweepsUntilCanceled(t *testing.T) {
	st := memory.New()
	keys, err := session.RandomKeyRing()
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Now().UTC()}
	svc := session.NewService(st, keys, zerolog.Nop(), session.Options{Now: clk.Now, SessionTTL: time.Minute, CleanupInterval: time.Millisecond})
	is, err := svc.Create(t.Context(), "", session.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()

	// Poll the store (never sweeping ourselves) until Run's sweep has
	// deleted the expired session, with a deadline.
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Second)
	for {
		_, err := st.Session(t.Context(), is.Session.ID)
		if errors.Is(err, session.ErrNotFound) {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("expired session not swept within 5s (last lookup: %v)", err)
		case <-tick.C:
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run() = %v, want nil after cancel", err)
	}
}
