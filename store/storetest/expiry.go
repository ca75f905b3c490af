package storetest

import (
	"testing"
	"time"

	"github.com/bigtwo/gateway/session"
)

func deleteExpiredTests() []test {
	return []test{
		{"deletes expired sessions and players left without any", func(t *testing.T, st Store) {
			base := baseTime()
			now := base.Add(30 * time.Minute)
			p1, first := createPlayer(t, st, base) // active until base+1h: kept

			// Expired, with a former refresh hash.
			s2 := newSession(p1.ID, base.Add(time.Minute))
			s2.ExpiresAt = base.Add(5 * time.Minute)
			s2, _ = createSession(t, st, p1, s2, 0)
			rotated := rotate(t, st, s2.RefreshHash, base.Add(2*time.Minute), base.Add(10*time.Minute))

			// Expired and revoked.
			s3 := newSession(p1.ID, base.Add(3*time.Minute))
			s3.ExpiresAt = base.Add(20 * time.Minute)
			s3, _ = createSession(t, st, p1, s3, 0)
			revoke(t, st, s3.ID, base.Add(4*time.Minute), session.ReasonLogout)

			// Revoked but not expired: kept, so its tokens stay "revoked".
			s4 := addSession(t, st, p1, base.Add(5*time.Minute))
			s4 = revoke(t, st, s4.ID, base.Add(6*time.Minute), session.ReasonLogout)

			// Expiring exactly at now: deleted.
			s5 := newSession(p1.ID, base.Add(7*time.Minute))
			s5.ExpiresAt = now
			s5, _ = createSession(t, st, p1, s5, 0)

			// A player whose only session expired.
			p2 := newPlayer(base)
			p2first := newSession(p2.ID, base)
			p2first.ExpiresAt = base.Add(10 * time.Minute)
			if err := st.CreatePlayer(t.Context(), p2, p2first); err != nil {
				t.Fatalf("CreatePlayer = %v, want nil", err)
			}

			n, err := st.DeleteExpired(t.Context(), now)
			if err != nil || n != 4 {
				t.Fatalf("DeleteExpired = %d, %v; want 4, nil", n, err)
			}
			for _, s := range []session.Session{s2, s3, s5, p2first} {
				checkNoSession(t, st, s.ID)
			}
			for _, h := range [][]byte{s2.RefreshHash, rotated.RefreshHash} {
				_, err := st.RotateRefresh(t.Context(), h, newHash(), base.Add(3*time.Minute), now, session.ClientInfo{})
				checkErr(t, "RotateRefresh(hash of a deleted session)", err, session.ErrNotFound)
			}
			checkSessions(t, "remaining sessions", playerSessions(t, st, p1.ID, now, true), []session.Session{first, s4})
			if _, err := st.Player(t.Context(), p1.ID); err != nil {
				t.Errorf("Player(with sessions left) = %v, want nil", err)
			}
			_, err = st.Player(t.Context(), p2.ID)
			checkErr(t, "Player(without sessions)", err, session.ErrNotFound)

			// Nothing left to delete; the deleted player's username is free.
			if n, err := st.DeleteExpired(t.Context(), now); err != nil || n != 0 {
				t.Errorf("DeleteExpired again = %d, %v; want 0, nil", n, err)
			}
			p3 := newPlayer(now)
			p3.Username = p2.Username
			if err := st.CreatePlayer(t.Context(), p3, newSession(p3.ID, now)); err != nil {
				t.Errorf("CreatePlayer(deleted player's username) = %v, want nil", err)
			}
		}},
		{"an empty store deletes nothing", func(t *testing.T, st Store) {
			if n, err := st.DeleteExpired(t.Context(), baseTime()); err != nil || n != 0 {
				t.Errorf("DeleteExpired = %d, %v; want 0, nil", n, err)
			}
		}},
		{"active sessions are untouched", func(t *testing.T, st Store) {
			base := baseTime()
			p, first := createPlayer(t, st, base)
			s2 := addSession(t, st, p, base.Add(time.Minute))
			now := first.ExpiresAt.Add(-time.Microsecond)
			if n, err := st.DeleteExpired(t.Context(), now); err != nil || n != 0 {
				t.Errorf("DeleteExpired = %d, %v; want 0, nil", n, err)
			}
			checkSessions(t, "sessions", playerSessions(t, st, p.ID, now, true), []session.Session{first, s2})
			rotate(t, st, first.RefreshHash, now, now.Add(time.Hour)) // its hash still works
		}},
	}
}
