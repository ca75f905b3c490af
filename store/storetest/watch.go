package storetest

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigtwo/gateway/session"
	"github.com/google/go-cmp/cmp"
)

// watcher collects the revocations a Watch call delivers.
type watcher struct {
	// got buffers revocations for the test goroutine; fn never blocks, and
	// records an overflow instead (no test makes that many).
	got      chan session.Revocation
	overflow atomic.Bool
}

// watch starts st.Watch on its own goroutine and returns once the
// subscription is live. Cleanup ends it and checks that it returned nil.
func watch(t *testing.T, st Store) *watcher {
	t.Helper()
	w := &watcher{got: make(chan session.Revocation, 256)}
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		done <- st.Watch(ctx, w.fn, func() { once.Do(func() { close(ready) }) })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Watch returned %v after its context ended, want nil", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("Watch did not return within %v after its context ended", waitTimeout)
		}
		if w.overflow.Load() {
			t.Error("watcher overflowed: too many revocations")
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Watch returned %v before calling ready", err)
	case <-time.After(waitTimeout):
		t.Fatalf("Watch did not call ready within %v", waitTimeout)
	}
	return w
}

func (w *watcher) fn(r session.Revocation) {
	select {
	case w.got <- r:
	default:
		w.overflow.Store(true)
	}
}

// next returns the next revocation delivered, failing the test if none
// arrives within waitTimeout.
func (w *watcher) next(t *testing.T) session.Revocation {
	t.Helper()
	select {
	case r := <-w.got:
		return r
	case <-time.After(waitTimeout):
		t.Fatalf("no revocation delivered within %v", waitTimeout)
		return session.Revocation{}
	}
}

// expect fails the test unless the next revocations are want, in any order.
func (w *watcher) expect(t *testing.T, want ...session.Revocation) {
	t.Helper()
	got := make([]session.Revocation, 0, len(want))
	for range want {
		got = append(got, w.next(t))
	}
	byID := func(a, b session.Revocation) int { return slices.Compare(a.SessionID[:], b.SessionID[:]) }
	slices.SortFunc(got, byID)
	want = slices.Clone(want)
	slices.SortFunc(want, byID)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("revocations mismatch (-want +got):\n%s", d)
	}
}

// expectMarker revokes a fresh session and expects its revocation to be the
// next one delivered: the way to prove that nothing else was published
// before it, without sleeping.
func (w *watcher) expectMarker(t *testing.T, st Store) {
	t.Helper()
	at := baseTime()
	_, s := createPlayer(t, st, at)
	revoke(t, st, s.ID, at, session.ReasonAdmin)
	w.expect(t, revocation(s, session.ReasonAdmin))
}

func revocation(s session.Session, reason string) session.Revocation {
	return session.Revocation{SessionID: s.ID, PlayerID: s.PlayerID, Reason: reason}
}

func watchTests() []test {
	return []test{
		{"RevokeSession publishes once", func(t *testing.T, st Store) {
			w := watch(t, st)
			base := baseTime()
			_, first := createPlayer(t, st, base)
			revoke(t, st, first.ID, base.Add(time.Minute), session.ReasonLogout)
			w.expect(t, revocation(first, session.ReasonLogout))
			revoke(t, st, first.ID, base.Add(2*time.Minute), session.ReasonAdmin) // already revoked: no news
			w.expectMarker(t, st)
		}},
		{"RevokePlayerSessions publishes each session", func(t *testing.T, st Store) {
			base := baseTime()
			p, first := createPlayer(t, st, base)
			s2 := addSession(t, st, p, base.Add(time.Minute))
			s3 := addSession(t, st, p, base.Add(2*time.Minute))
			w := watch(t, st)
			revoke(t, st, s3.ID, base.Add(3*time.Minute), session.ReasonLogout)
			w.expect(t, revocation(s3, session.ReasonLogout))
			if _, err := st.RevokePlayerSessions(t.Context(), p.ID, base.Add(4*time.Minute), session.ReasonLogoutAll); err != nil {
				t.Fatalf("RevokePlayerSessions = %v, want nil", err)
			}
			w.expect(t, revocation(first, session.ReasonLogoutAll), revocation(s2, session.ReasonLogoutAll))
			w.expectMarker(t, st)
		}},
		{"eviction publishes", func(t *testing.T, st Store) {
			base := baseTime()
			p, first := createPlayer(t, st, base)
			w := watch(t, st)
			createSession(t, st, p, newSession(p.ID, base.Add(time.Minute)), 1)
			w.expect(t, revocation(first, session.ReasonEvicted))
			w.expectMarker(t, st)
		}},
		{"refresh token reuse publishes", func(t *testing.T, st Store) {
			base := baseTime()
			_, first := createPlayer(t, st, base)
			w := watch(t, st)
			rotate(t, st, first.RefreshHash, base.Add(time.Minute), base.Add(time.Hour))
			now := base.Add(2 * time.Minute)
			_, err := st.RotateRefresh(t.Context(), first.RefreshHash, newHash(), now, now.Add(time.Hour), session.ClientInfo{})
			checkErr(t, "RotateRefresh(former hash)", err, session.ErrRefreshReused)
			w.expect(t, revocation(first, session.ReasonReuse))
			// Further attempts on the revoked session publish nothing.
			_, err = st.RotateRefresh(t.Context(), first.RefreshHash, newHash(), now, now.Add(time.Hour), session.ClientInfo{})
			checkErr(t, "RotateRefresh(former hash again)", err, session.ErrRevoked)
			w.expectMarker(t, st)
		}},
		{"Listening once ready", func(t *testing.T, st Store) {
			watch(t, st)
			if !st.Listening() {
				t.Error("Listening() = false after Watch called ready, want true")
			}
		}},
		{"every watcher gets every revocation", func(t *testing.T, st Store) {
			w1, w2 := watch(t, st), watch(t, st)
			base := baseTime()
			_, first := createPlayer(t, st, base)
			revoke(t, st, first.ID, base, session.ReasonAdmin)
			w1.expect(t, revocation(first, session.ReasonAdmin))
			w2.expect(t, revocation(first, session.ReasonAdmin))
		}},
		{"a watcher that ended gets nothing more", func(t *testing.T, st Store) {
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			var calls atomic.Int32
			go func() {
				done <- st.Watch(ctx, func(session.Revocation) { calls.Add(1) }, cancel) // ends at once
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Watch = %v, want nil", err)
				}
			case <-time.After(waitTimeout):
				t.Fatalf("Watch did not return within %v after its context ended", waitTimeout)
			}
			w := watch(t, st)
			w.expectMarker(t, st) // still works for the others
			if n := calls.Load(); n != 0 {
				t.Errorf("ended watcher called %d times, want 0", n)
			}
		}},
		{"nil ready is allowed", func(t *testing.T, st Store) {
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- st.Watch(ctx, func(session.Revocation) {}, nil) }()
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Watch = %v, want nil", err)
				}
			case <-time.After(waitTimeout):
				t.Fatalf("Watch did not return within %v after its context ended", waitTimeout)
			}
		}},
	}
}
