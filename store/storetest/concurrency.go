package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bigtwo/gateway/session"
	"github.com/google/uuid"
)

// parallel runs f(0) … f(n-1) on n goroutines released together, and
// returns their errors by index once all have returned.
func parallel(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func concurrencyTests() []test {
	const n = 8
	return []test{
		{"one refresh token rotates once", func(t *testing.T, st Store) {
			base := baseTime()
			_, first := createPlayer(t, st, base)
			w := watch(t, st)
			now := base.Add(time.Minute)
			newHashes := make([][]byte, n)
			for i := range newHashes {
				newHashes[i] = newHash()
			}
			errs := parallel(n, func(i int) error {
				_, err := st.RotateRefresh(t.Context(), first.RefreshHash, newHashes[i], now, now.Add(time.Hour), session.ClientInfo{})
				return err
			})
			var ok, reused, revokedErrs int
			for i, err := range errs {
				switch {
				case err == nil:
					ok++
				case errors.Is(err, session.ErrRefreshReused):
					reused++
				case errors.Is(err, session.ErrRevoked):
					revokedErrs++
				default:
					t.Errorf("RotateRefresh #%d = %v, want nil, ErrRefreshReused or ErrRevoked", i, err)
				}
			}
			// The first loser finds a former hash of a live session.
			if ok != 1 || reused < 1 {
				t.Fatalf("%d concurrent RotateRefresh: %d rotated, %d reused, %d revoked; want 1 rotated, at least 1 reused",
					n, ok, reused, revokedErrs)
			}
			got := getSession(t, st, first.ID)
			if !got.Revoked() || got.RevokedReason != session.ReasonReuse {
				t.Errorf("Session: revoked at %v for %q, want revoked for %q", got.RevokedAt, got.RevokedReason, session.ReasonReuse)
			}
			w.expect(t, revocation(first, session.ReasonReuse))
			w.expectMarker(t, st) // revoked once, published once
		}},
		{"a limit holds under concurrent creation", func(t *testing.T, st Store) {
			const limit = 3
			base := baseTime()
			p, _ := createPlayer(t, st, base)
			sessions := make([]session.Session, n)
			evicted := make([][]session.Session, n)
			for i := range sessions {
				sessions[i] = newSession(p.ID, base.Add(time.Duration(i+1)*time.Second))
			}
			errs := parallel(n, func(i int) error {
				var err error
				evicted[i], err = st.CreateSession(t.Context(), sessions[i], limit)
				return err
			})
			for i, err := range errs {
				if err != nil {
					t.Fatalf("CreateSession #%d = %v, want nil", i, err)
				}
			}
			now := base.Add(time.Minute)
			if got := playerSessions(t, st, p.ID, now, false); len(got) != limit {
				t.Errorf("%d active sessions after %d concurrent CreateSession with limit %d, want %d", len(got), n, limit, limit)
			}
			// Each session was evicted at most once, by exactly one call.
			seen := make(map[uuid.UUID]bool)
			for _, ev := range evicted {
				for _, s := range ev {
					if seen[s.ID] {
						t.Errorf("session %s evicted twice", s.ID)
					}
					seen[s.ID] = true
					if s.RevokedReason != session.ReasonEvicted {
						t.Errorf("evicted session %s has reason %q, want %q", s.ID, s.RevokedReason, session.ReasonEvicted)
					}
				}
			}
			if want := n + 1 - limit; len(seen) != want {
				t.Errorf("%d sessions evicted, want %d", len(seen), want)
			}
		}},
		{"one username is taken once", func(t *testing.T, st Store) {
			base := baseTime()
			players := make([]session.Player, n)
			firsts := make([]session.Session, n)
			for i := range players {
				players[i] = newPlayer(base)
				players[i].Username = players[0].Username
				firsts[i] = newSession(players[i].ID, base)
			}
			errs := parallel(n, func(i int) error {
				return st.CreatePlayer(t.Context(), players[i], firsts[i])
			})
			winners := 0
			for i, err := range errs {
				switch {
				case err == nil:
					winners++
					continue
				case !errors.Is(err, session.ErrUsernameTaken):
					t.Errorf("CreatePlayer #%d = %v, want nil or ErrUsernameTaken", i, err)
				}
				_, err := st.Player(t.Context(), players[i].ID)
				checkErr(t, "Player(loser)", err, session.ErrNotFound)
				checkNoSession(t, st, firsts[i].ID)
			}
			if winners != 1 {
				t.Errorf("%d concurrent CreatePlayer with one username: %d succeeded, want 1", n, winners)
			}
		}},
		{"concurrent revocations of one session: the first stands", func(t *testing.T, st Store) {
			base := baseTime()
			_, first := createPlayer(t, st, base)
			w := watch(t, st)
			reasons := []string{session.ReasonLogout, session.ReasonAdmin}
			results := make([]session.Session, n)
			errs := parallel(n, func(i int) error {
				var err error
				results[i], err = st.RevokeSession(t.Context(), first.ID, base.Add(time.Duration(i+1)*time.Second), reasons[i%2])
				return err
			})
			stored := getSession(t, st, first.ID)
			for i, err := range errs {
				if err != nil {
					t.Fatalf("RevokeSession #%d = %v, want nil", i, err)
				}
				checkSession(t, "RevokeSession result", results[i], stored)
			}
			w.expect(t, revocation(first, stored.RevokedReason))
			w.expectMarker(t, st)
		}},
	}
}
