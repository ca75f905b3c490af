// Package storetest is the conformance suite every session.Store must pass:
// store/memory and store/postgres run the same Run, so the service behaves
// the same on either backend.
//
// The suite passes times truncated to microseconds (PostgreSQL's timestamptz
// precision), compares them with time.Equal (so a store may return them in
// any location), and never sleeps: waits for revocations have a deadline.
// Stores never read the clock; every time is an argument.
package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/bigtwo/gateway/session"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"
)

// FormerHashes is how many of a session's former refresh hashes a store
// remembers, the newest ones: presenting one of them to RotateRefresh is
// reuse (ErrRefreshReused, the session revoked), presenting an older one is
// ErrNotFound like any unknown hash, and revokes nothing. The bound keeps a
// client that refreshes in a loop from growing the store without limit.
const FormerHashes = 32

// Store is what the suite needs: a session.Store that also publishes revocations.
type Store interface {
	session.Store
	// Watch calls fn for every revocation made through any store sharing the same backend
	// (other processes included) from the time ready is called until ctx ends; then it returns nil.
	// It may also deliver a revocation twice, or one made shortly before Watch was called.
	// fn is called from Watch's goroutine, one call at a time, and must not block for long.
	// ready (may be nil) is called once the subscription is live.
	Watch(ctx context.Context, fn func(session.Revocation), ready func()) error
	// Listening reports whether revocations made elsewhere currently reach
	// Watch calls: true once a Watch call has called ready, as long as its
	// subscription stays live.
	Listening() bool
}

// Run runs the conformance suite against the stores open returns. open is
// called once per subtest, with that subtest's t, and must return a fresh,
// empty store, registering with t.Cleanup whatever closes it.
func Run(t *testing.T, open func(t *testing.T) Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"CreatePlayer", createPlayerTests()},
		{"Player", playerTests()},
		{"Session", sessionTests()},
		{"CreateSession", createSessionTests()},
		{"TouchSession", touchSessionTests()},
		{"TouchSessions", touchSessionsTests()},
		{"RotateRefresh", rotateRefreshTests()},
		{"ClientInfo", clientInfoTests()},
		{"RevokeSession", revokeSessionTests()},
		{"RevokePlayerSessions", revokePlayerSessionsTests()},
		{"PlayerSessions", playerSessionsTests()},
		{"DeleteExpired", deleteExpiredTests()},
		{"Watch", watchTests()},
		{"Concurrency", concurrencyTests()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, open(t))
				})
			}
		})
	}
}

// test is one subtest of the suite, given a fresh store.
type test struct {
	name string
	run  func(t *testing.T, st Store)
}

// waitTimeout bounds every wait for a revocation or a goroutine.
const waitTimeout = 10 * time.Second

// baseTime is the start of a test's timeline: now, at the precision
// PostgreSQL keeps. Stores take times as arguments, so tests move forward
// from it by adding durations.
func baseTime() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond)
}

// newHash returns a random refresh token hash.
func newHash() []byte {
	h := make([]byte, 32)
	rand.Read(h)
	return h
}

// newPlayer returns an unstored player with a unique username.
func newPlayer(created time.Time) session.Player {
	return session.Player{
		ID:        uuid.New(),
		Username:  "storetest-" + uuid.NewString()[:8],
		CreatedAt: created,
	}
}

// newSession returns an unstored session of playerID created at created,
// expiring an hour later, at most a day later.
func newSession(playerID uuid.UUID, created time.Time) session.Session {
	return session.Session{
		ID:           uuid.New(),
		PlayerID:     playerID,
		CreatedAt:    created,
		LastSeenAt:   created,
		ExpiresAt:    created.Add(time.Hour),
		MaxExpiresAt: created.Add(24 * time.Hour),
		IP:           "192.0.2.1",
		UserAgent:    "storetest/1.0",
		RefreshHash:  newHash(),
	}
}

// createPlayer stores a new player created at at with its first session,
// and returns them, the session as the store returns it (Username joined).
func createPlayer(t *testing.T, st Store, at time.Time) (session.Player, session.Session) {
	t.Helper()
	p := newPlayer(at)
	first := newSession(p.ID, at)
	if err := st.CreatePlayer(t.Context(), p, first); err != nil {
		t.Fatalf("CreatePlayer(%s) = %v, want nil", p.ID, err)
	}
	first.Username = p.Username
	return p, first
}

// createSession stores s with limit and returns it as the store returns it
// (Username joined) with the sessions it evicted.
func createSession(t *testing.T, st Store, p session.Player, s session.Session, limit int) (session.Session, []session.Session) {
	t.Helper()
	evicted, err := st.CreateSession(t.Context(), s, limit)
	if err != nil {
		t.Fatalf("CreateSession(%s, %d) = %v, want nil", s.ID, limit, err)
	}
	s.Username = p.Username
	return s, evicted
}

// addSession stores a new session of p created at at, without limit.
func addSession(t *testing.T, st Store, p session.Player, at time.Time) session.Session {
	t.Helper()
	s, evicted := createSession(t, st, p, newSession(p.ID, at), 0)
	if len(evicted) != 0 {
		t.Fatalf("CreateSession(limit 0) evicted %d sessions, want none", len(evicted))
	}
	return s
}

// revoke revokes the session id and returns it as revoked.
func revoke(t *testing.T, st Store, id uuid.UUID, at time.Time, reason string) session.Session {
	t.Helper()
	s, err := st.RevokeSession(t.Context(), id, at, reason)
	if err != nil {
		t.Fatalf("RevokeSession(%s) = %v, want nil", id, err)
	}
	return s
}

// rotate rotates the refresh token of a session from oldHash to a new hash,
// keeping the client, and returns the updated session.
func rotate(t *testing.T, st Store, oldHash []byte, now, idleUntil time.Time) session.Session {
	t.Helper()
	s, err := st.RotateRefresh(t.Context(), oldHash, newHash(), now, idleUntil, session.ClientInfo{IP: "192.0.2.1", UserAgent: "storetest/1.0"})
	if err != nil {
		t.Fatalf("RotateRefresh = %v, want nil", err)
	}
	return s
}

// getSession returns the stored session id.
func getSession(t *testing.T, st Store, id uuid.UUID) session.Session {
	t.Helper()
	s, err := st.Session(t.Context(), id)
	if err != nil {
		t.Fatalf("Session(%s) = %v, want nil", id, err)
	}
	return s
}

// playerSessions returns the player's sessions at now.
func playerSessions(t *testing.T, st Store, playerID uuid.UUID, now time.Time, all bool) []session.Session {
	t.Helper()
	ss, err := st.PlayerSessions(t.Context(), playerID, now, all)
	if err != nil {
		t.Fatalf("PlayerSessions(%s, all=%t) = %v, want nil", playerID, all, err)
	}
	return ss
}

// revoked returns s as revoked at at for reason.
func revoked(s session.Session, at time.Time, reason string) session.Session {
	s.RevokedAt = at
	s.RevokedReason = reason
	return s
}

// cmpOpts compare times as instants (a store may return another location)
// and treat nil and empty slices alike.
func cmpOpts() cmp.Options {
	return cmp.Options{
		cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
		cmpopts.EquateEmpty(),
	}
}

// checkSession fails the test if got differs from want.
func checkSession(t *testing.T, what string, got, want session.Session) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpOpts()); d != "" {
		t.Errorf("%s: session mismatch (-want +got):\n%s", what, d)
	}
}

// checkSessions fails the test if got differs from want, order included.
func checkSessions(t *testing.T, what string, got, want []session.Session) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpOpts()); d != "" {
		t.Errorf("%s: sessions mismatch (-want +got):\n%s", what, d)
	}
}

// checkSessionSet fails the test if got and want differ, ignoring order.
func checkSessionSet(t *testing.T, what string, got, want []session.Session) {
	t.Helper()
	byID := func(a, b session.Session) int { return slices.Compare(a.ID[:], b.ID[:]) }
	got, want = slices.Clone(got), slices.Clone(want)
	slices.SortFunc(got, byID)
	slices.SortFunc(want, byID)
	checkSessions(t, what, got, want)
}

// checkErr fails the test now unless errors.Is(err, target).
func checkErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s = %v, want %v", what, err, target)
	}
}

// checkNoSession fails the test unless the session id is not stored.
func checkNoSession(t *testing.T, st Store, id uuid.UUID) {
	t.Helper()
	_, err := st.Session(t.Context(), id)
	checkErr(t, "Session("+id.String()+")", err, session.ErrNotFound)
}
