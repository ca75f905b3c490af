package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/bigtwo/gateway/session"
)

func rotateRefreshTests() []test {
	return []test{
		{"rotates the current hash", func(t *testing.T, st Store) {
			base := baseTime()
			_, first := createPlayer(t, st, base)
			now := base.Add(10 * time.Minute)
			idle := now.Add(time.Hour)
			client := session.ClientInfo{IP: "198.51.100.7", UserAgent: "storetest/2.0"}
			h2 := newHash()
			got, err := st.RotateRefresh(t.Context(), first.RefreshHash, h2, now, idle, client)
			if err != nil {
				t.Fatalf("RotateRefresh = %v, want nil", err)
			}
			want := first
			want.RefreshHash = h2
			want.LastSeenAt = now
			want.ExpiresAt = idle
			want.IP = client.IP
			want.UserAgent = client.UserAgent
			checkSession(t, "RotateRefresh", got, want)
			checkSession(t, "Session", getSession(t, st, first.ID), want)

			// The new hash rotates in turn.
			now2 := now.Add(10 * time.Minute)
			got = rotate(t, st, h2, now2, now2.Add(time.Hour))
			if got.ID != first.ID || !got.LastSeenAt.Equal(now2) {
				t.Errorf("second RotateRefresh = session %s last seen %v, want %s at %v", got.ID, got.LastSeenAt, first.ID, now2)
			}
		}},
		{"ExpiresAt is capped by MaxExpiresAt", func(t *testing.T, st Store) {
			base := baseTime()
			p, _ := createPlayer(t, st, base)
			s := newSession(p.ID, base)
			s.MaxExpiresAt = base.Add(90 * time.Minute)
			s, _ = createSession(t, st, p, s, 0)
			now := base.Add(45 * time.Minute)
			got := rotate(t, st, s.RefreshHash, now, now.Add(time.Hour))
			if !got.ExpiresAt.Equal(s.MaxExpiresAt) {
				t.Errorf("RotateRefresh().ExpiresAt = %v, want MaxExpiresAt %v", got.ExpiresAt, s.MaxExpiresAt)
			}
			if got := getSession(t, st, s.ID); !got.ExpiresAt.Equal(s.MaxExpiresAt) || !got.MaxExpiresAt.Equal(s.MaxExpiresAt) {
				t.Errorf("Session: ExpiresAt %v, MaxExpiresAt %v, want both %v", got.ExpiresAt, got.MaxExpiresAt, s.MaxExpiresAt)
			}
		}},
		{"a former hash revokes the session", func(t *testing.T, st Store) {
			base := baseTime()
			_, first := createPlayer(t, st, base)
			rotated := rotate(t, st, first.RefreshHash, base.Add(time.Minute), base.Add(time.Hour))
			now := base.Add(2 * time.Minute)
			_, err := st.RotateRefresh(t.Context(), first.RefreshHash, newHash(), now, now.Add(time.Hour), session.ClientInfo{})
			checkErr(t, "RotateRefresh(former hash)", err, session.ErrRefreshReused)
			want := revoked(rotated, now, session.ReasonReuse)
			checkSession(t, "Session after reuse", getSession(t, st, first.ID), want)

			// The current hash is dead too, and the first revocation stands.
			_, err = st.RotateRefresh(t.Context(), rotated.RefreshHash, newHash(), now, now.Add(time.Hour), session.ClientInfo{})
			checkErr(t, "RotateRefresh(current hash of a reused session)", err, session.ErrRevoked)
			_, err = st.RotateRefresh(t.Context(), first.RefreshHash, newHash(), now.Add(time.Minute), now.Add(time.Hour), session.ClientInfo{})
			checkErr(t, "RotateRefresh(former hash again)", err, session.ErrRevoked)
			checkSession(t, "Session after more attempts", getSession(t, st, first.ID), want)
		}},
		{"every former hash is dead", func(t *testing.T, st Store) {
			base := baseTime()
			_, first := createPlayer(t, st, base)
			s := first
			for i := 1; i <= 3; i++ {
				now := base.Add(time.Duration(i) * time.Minute)
				s = rotate(t, st, s.RefreshHash, now, now.Add(time.Hour))
			}
			now := base.Add(10 * time.Minute)
			_, err := st.RotateRefresh(t.Context(), first.RefreshHash, newHash(), now, now.Add(time.Hour), session.ClientInfo{})
			checkErr(t, "RotateRefresh(hash of three rotations ago)", err, session.ErrRefreshReused)
			checkSession(t, "Session", getSession(t, st, first.ID), revoked(s, now, session.ReasonReuse))
		}},
		{"the newest FormerHashes former hashes are reuse", func(t *testing.T, st Store) {
			for _, back := range []int{1, FormerHashes} {
				base := baseTime()
				s, hashes := rotateMany(t, st, base, FormerHashes+5)
				now := base.Add(10 * time.Minute)
				// The last hash is current: the former ones are before it.
				_, err := st.RotateRefresh(t.Context(), hashes[len(hashes)-1-back], newHash(), now, now.Add(time.Hour), session.ClientInfo{})
				checkErr(t, fmt.Sprintf("RotateRefresh(hash of %d rotations ago)", back), err, session.ErrRefreshReused)
				checkSession(t, "Session after reuse", getSession(t, st, s.ID), revoked(s, now, session.ReasonReuse))
			}
		}},
		{"an older former hash is forgotten: ErrNotFound, no revocation", func(t *testing.T, st Store) {
			base := baseTime()
			s, hashes := rotateMany(t, st, base, FormerHashes+5)
			w := watch(t, st)
			now := base.Add(10 * time.Minute)
			for _, back := range []int{FormerHashes + 1, FormerHashes + 5} {
				_, err := st.RotateRefresh(t.Context(), hashes[len(hashes)-1-back], newHash(), now, now.Add(time.Hour), session.ClientInfo{})
				checkErr(t, fmt.Sprintf("RotateRefresh(hash of %d rotations ago)", back), err, session.ErrNotFound)
			}
			checkSession(t, "Session (not revoked)", getSession(t, st, s.ID), s)
			w.expectMarker(t, st) // nothing was published before the marker
			// The current hash still rotates, and the hash it replaced is reuse.
			rotate(t, st, s.RefreshHash, now, now.Add(time.Hour))
			_, err := st.RotateRefresh(t.Context(), s.RefreshHash, newHash(), now, now.Add(time.Hour), session.ClientInfo{})
			checkErr(t, "RotateRefresh(newest former hash)", err, session.ErrRefreshReused)
		}},
		{"an unknown hash is ErrNotFound", func(t *testing.T, st Store) {
			base := baseTime()
			createPlayer(t, st, base)
			for _, h := range [][]byte{newHash(), nil} {
				_, err := st.RotateRefresh(t.Context(), h, newHash(), base, base.Add(time.Hour), session.ClientInfo{})
				checkErr(t, "RotateRefresh(unknown hash)", err, session.ErrNotFound)
			}
		}},
		{"a revoked session is ErrRevoked", func(t *testing.T, st Store) {
			base := baseTime()
			_, first := createPlayer(t, st, base)
			want := revoke(t, st, first.ID, base.Add(time.Minute), session.ReasonLogout)
			now := base.Add(2 * time.Minute)
			_, err := st.RotateRefresh(t.Context(), first.RefreshHash, newHash(), now, now.Add(time.Hour), session.ClientInfo{})
			checkErr(t, "RotateRefresh(revoked)", err, session.ErrRevoked)
			checkSession(t, "Session", getSession(t, st, first.ID), want)
		}},
		{"a former hash of a revoked session is ErrRevoked", func(t *testing.T, st Store) {
			base := baseTime()
			_, first := createPlayer(t, st, base)
			rotate(t, st, first.RefreshHash, base.Add(time.Minute), base.Add(time.Hour))
			want := revoke(t, st, first.ID, base.Add(2*time.Minute), session.ReasonLogout)
			now := base.Add(3 * time.Minute)
			_, err := st.RotateRefresh(t.Context(), first.RefreshHash, newHash(), now, now.Add(time.Hour), session.ClientInfo{})
			checkErr(t, "RotateRefresh(former hash of revoked)", err, session.ErrRevoked)
			checkSession(t, "Session (first revocation stands)", getSession(t, st, first.ID), want)
		}},
		{"an expired session is ErrExpired", func(t *testing.T, st Store) {
			for _, late := range []time.Duration{0, time.Minute} { // at ExpiresAt, and after
				base := baseTime()
				_, first := createPlayer(t, st, base)
				now := first.ExpiresAt.Add(late)
				_, err := st.RotateRefresh(t.Context(), first.RefreshHash, newHash(), now, now.Add(time.Hour), session.ClientInfo{})
				checkErr(t, "RotateRefresh(expired)", err, session.ErrExpired)
				checkSession(t, "Session (unchanged)", getSession(t, st, first.ID), first)
			}
		}},
		{"a former hash of an expired session is ErrExpired", func(t *testing.T, st Store) {
			base := baseTime()
			_, first := createPlayer(t, st, base)
			rotated := rotate(t, st, first.RefreshHash, base.Add(time.Minute), base.Add(time.Hour))
			now := rotated.ExpiresAt.Add(time.Minute)
			_, err := st.RotateRefresh(t.Context(), first.RefreshHash, newHash(), now, now.Add(time.Hour), session.ClientInfo{})
			checkErr(t, "RotateRefresh(former hash of expired)", err, session.ErrExpired)
			checkSession(t, "Session (unchanged)", getSession(t, st, first.ID), rotated)
		}},
	}
}

// rotateMany creates a player at base and rotates its first session's
// refresh token n times, a second apart, and returns the session as rotated
// with every hash it had, oldest first: the last one is current. The session
// expires an hour after the last rotation.
func rotateMany(t *testing.T, st Store, base time.Time, n int) (session.Session, [][]byte) {
	t.Helper()
	_, s := createPlayer(t, st, base)
	hashes := [][]byte{s.RefreshHash}
	for i := range n {
		now := base.Add(time.Duration(i+1) * time.Second)
		s = rotate(t, st, s.RefreshHash, now, now.Add(time.Hour))
		hashes = append(hashes, s.RefreshHash)
	}
	return s, hashes
}
