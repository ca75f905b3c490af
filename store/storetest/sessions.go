package storetest

import (
	"testing"
	"time"

	"github.com/bigtwo/gateway/session"
	"github.com/google/uuid"
)

func sessionTests() []test {
	return []test{
		{"unknown is ErrNotFound", func(t *testing.T, st Store) {
			checkNoSession(t, st, uuid.New())
		}},
		{"round-trips every field", func(t *testing.T, st Store) {
			// Microsecond fractions in a non-UTC zone: the instant must survive.
			zone := time.FixedZone("UTC-3:30", -(3*3600 + 1800))
			base := baseTime().Add(654321 * time.Microsecond).In(zone)
			p, _ := createPlayer(t, st, base)
			s := session.Session{
				ID:           uuid.New(),
				PlayerID:     p.ID,
				Username:     "ignored",
				CreatedAt:    base.Add(time.Second),
				LastSeenAt:   base.Add(2*time.Second + 1*time.Microsecond),
				ExpiresAt:    base.Add(3*time.Hour + 999999*time.Microsecond),
				MaxExpiresAt: base.Add(720 * time.Hour),
				IP:           "2001:db8::1",
				UserAgent:    "Mozilla/5.0 (X11; Linux x86_64) \"quoted\" ✓ 日本",
				RefreshHash:  newHash(),
			}
			if _, err := st.CreateSession(t.Context(), s, 0); err != nil {
				t.Fatalf("CreateSession = %v, want nil", err)
			}
			s.Username = p.Username
			got := getSession(t, st, s.ID)
			checkSession(t, "Session", got, s)
			if got.Revoked() || got.RevokedReason != "" {
				t.Errorf("Session: RevokedAt = %v, RevokedReason = %q, want zero", got.RevokedAt, got.RevokedReason)
			}
		}},
		{"refresh hashes are copies", func(t *testing.T, st Store) {
			base := baseTime()
			p, _ := createPlayer(t, st, base)
			s := newSession(p.ID, base)
			want := append([]byte(nil), s.RefreshHash...)
			if _, err := st.CreateSession(t.Context(), s, 0); err != nil {
				t.Fatalf("CreateSession = %v, want nil", err)
			}
			s.RefreshHash[0] ^= 0xff // the caller's slice is not the store's
			got := getSession(t, st, s.ID)
			got.RefreshHash[1] ^= 0xff // nor is the returned one
			if got := getSession(t, st, s.ID).RefreshHash; string(got) != string(want) {
				t.Errorf("Session.RefreshHash = %x, want %x", got, want)
			}
		}},
	}
}

func createSessionTests() []test {
	return []test{
		{"unknown player is ErrNotFound and stores nothing", func(t *testing.T, st Store) {
			s := newSession(uuid.New(), baseTime())
			_, err := st.CreateSession(t.Context(), s, 5)
			checkErr(t, "CreateSession(unknown player)", err, session.ErrNotFound)
			checkNoSession(t, st, s.ID)
		}},
		{"joins the player's username", func(t *testing.T, st Store) {
			base := baseTime()
			p, _ := createPlayer(t, st, base)
			s := newSession(p.ID, base.Add(time.Minute))
			s.Username = "someone-else"
			if _, err := st.CreateSession(t.Context(), s, 0); err != nil {
				t.Fatalf("CreateSession = %v, want nil", err)
			}
			if got := getSession(t, st, s.ID).Username; got != p.Username {
				t.Errorf("Session.Username = %q, want %q", got, p.Username)
			}
		}},
		{"evicts the oldest active sessions past the limit", func(t *testing.T, st Store) {
			base := baseTime()
			p, first := createPlayer(t, st, base)
			s2, ev := createSession(t, st, p, newSession(p.ID, base.Add(1*time.Minute)), 3)
			checkSessions(t, "evicted by the 2nd of 3", ev, nil)
			s3, ev := createSession(t, st, p, newSession(p.ID, base.Add(2*time.Minute)), 3)
			checkSessions(t, "evicted by the 3rd of 3", ev, nil)

			at4 := base.Add(3 * time.Minute)
			s4, ev := createSession(t, st, p, newSession(p.ID, at4), 3)
			wantFirst := revoked(first, at4, session.ReasonEvicted)
			checkSessions(t, "evicted by the 4th of 3", ev, []session.Session{wantFirst})
			checkSession(t, "Session(first)", getSession(t, st, first.ID), wantFirst)

			at5 := base.Add(4 * time.Minute)
			s5, ev := createSession(t, st, p, newSession(p.ID, at5), 2)
			want := []session.Session{revoked(s2, at5, session.ReasonEvicted), revoked(s3, at5, session.ReasonEvicted)}
			checkSessionSet(t, "evicted by the 5th of 2", ev, want)

			checkSessions(t, "active sessions", playerSessions(t, st, p.ID, at5, false), []session.Session{s4, s5})
			checkSessions(t, "all sessions", playerSessions(t, st, p.ID, at5, true),
				[]session.Session{wantFirst, want[0], want[1], s4, s5})
		}},
		{"revoked and expired sessions do not count", func(t *testing.T, st Store) {
			base := baseTime()
			p, first := createPlayer(t, st, base) // expires at base+1h
			s2 := addSession(t, st, p, base.Add(time.Minute))
			s2 = revoke(t, st, s2.ID, base.Add(2*time.Minute), session.ReasonLogout)

			// first.ExpiresAt == s3.CreatedAt: expired (not after now), so not active.
			at := first.ExpiresAt
			s3, ev := createSession(t, st, p, newSession(p.ID, at), 1)
			checkSessions(t, "evicted", ev, nil)
			checkSession(t, "Session(expired first)", getSession(t, st, first.ID), first)
			checkSession(t, "Session(revoked s2)", getSession(t, st, s2.ID), s2)
			checkSessions(t, "active sessions", playerSessions(t, st, p.ID, at, false), []session.Session{s3})
		}},
		{"limit 1 keeps only the new session", func(t *testing.T, st Store) {
			base := baseTime()
			p, first := createPlayer(t, st, base)
			at := base.Add(time.Minute)
			s2, ev := createSession(t, st, p, newSession(p.ID, at), 1)
			checkSessions(t, "evicted", ev, []session.Session{revoked(first, at, session.ReasonEvicted)})
			checkSessions(t, "active sessions", playerSessions(t, st, p.ID, at, false), []session.Session{s2})
		}},
		{"other players' sessions do not count", func(t *testing.T, st Store) {
			base := baseTime()
			p1, first1 := createPlayer(t, st, base)
			p2, _ := createPlayer(t, st, base)
			_, ev := createSession(t, st, p2, newSession(p2.ID, base.Add(time.Minute)), 2)
			checkSessions(t, "evicted", ev, nil)
			checkSession(t, "Session(other player's)", getSession(t, st, first1.ID), first1)
			checkSessions(t, "other player's active", playerSessions(t, st, p1.ID, base, false), []session.Session{first1})
		}},
		{"limit 0 or less is unlimited", func(t *testing.T, st Store) {
			for _, limit := range []int{0, -1} {
				base := baseTime()
				p, first := createPlayer(t, st, base)
				want := []session.Session{first}
				for i := 1; i <= 6; i++ {
					s, ev := createSession(t, st, p, newSession(p.ID, base.Add(time.Duration(i)*time.Minute)), limit)
					checkSessions(t, "evicted", ev, nil)
					want = append(want, s)
				}
				checkSessions(t, "active sessions", playerSessions(t, st, p.ID, base.Add(10*time.Minute), false), want)
			}
		}},
	}
}

func touchSessionTests() []test {
	return []test{
		{"unknown is ErrNotFound", func(t *testing.T, st Store) {
			_, err := st.TouchSession(t.Context(), uuid.New(), baseTime())
			checkErr(t, "TouchSession(unknown)", err, session.ErrNotFound)
		}},
		{"records the last use", func(t *testing.T, st Store) {
			base := baseTime()
			_, first := createPlayer(t, st, base)
			at := base.Add(2 * time.Minute) // over a minute later: must be written
			got, err := st.TouchSession(t.Context(), first.ID, at)
			if err != nil {
				t.Fatalf("TouchSession = %v, want nil", err)
			}
			if !got.LastSeenAt.Equal(base) && !got.LastSeenAt.Equal(at) {
				t.Errorf("TouchSession().LastSeenAt = %v, want %v or %v", got.LastSeenAt, base, at)
			}
			got.LastSeenAt = first.LastSeenAt
			checkSession(t, "TouchSession", got, first)
			want := first
			want.LastSeenAt = at
			checkSession(t, "Session after touch", getSession(t, st, first.ID), want)

			// Within a minute, the store may skip the write.
			soon := at.Add(10 * time.Second)
			if _, err := st.TouchSession(t.Context(), first.ID, soon); err != nil {
				t.Fatalf("TouchSession = %v, want nil", err)
			}
			if got := getSession(t, st, first.ID).LastSeenAt; !got.Equal(at) && !got.Equal(soon) {
				t.Errorf("LastSeenAt after a second touch = %v, want %v or %v", got, at, soon)
			}
		}},
		{"returns revoked sessions like Session", func(t *testing.T, st Store) {
			base := baseTime()
			_, first := createPlayer(t, st, base)
			want := revoke(t, st, first.ID, base.Add(time.Minute), session.ReasonLogout)
			got, err := st.TouchSession(t.Context(), first.ID, base.Add(5*time.Minute))
			if err != nil {
				t.Fatalf("TouchSession(revoked) = %v, want nil", err)
			}
			got.LastSeenAt = want.LastSeenAt
			checkSession(t, "TouchSession(revoked)", got, want)
		}},
	}
}

func touchSessionsTests() []test {
	return []test{
		{"empty is a no-op", func(t *testing.T, st Store) {
			if err := st.TouchSessions(t.Context(), nil, baseTime()); err != nil {
				t.Fatalf("TouchSessions(nil) = %v, want nil", err)
			}
		}},
		{"records the last use of each listed session only", func(t *testing.T, st Store) {
			base := baseTime()
			p, first := createPlayer(t, st, base)
			second := addSession(t, st, p, base)
			untouched := addSession(t, st, p, base)
			at := base.Add(2 * time.Minute) // over a minute later: must be written
			if err := st.TouchSessions(t.Context(), []uuid.UUID{first.ID, uuid.New(), second.ID}, at); err != nil {
				t.Fatalf("TouchSessions = %v, want nil", err)
			}
			for _, s := range []session.Session{first, second} {
				want := s
				want.LastSeenAt = at
				checkSession(t, "Session after TouchSessions", getSession(t, st, s.ID), want)
			}
			checkSession(t, "Session not listed", getSession(t, st, untouched.ID), untouched)
		}},
		{"unknown ids alone are not an error", func(t *testing.T, st Store) {
			if err := st.TouchSessions(t.Context(), []uuid.UUID{uuid.New(), uuid.New()}, baseTime()); err != nil {
				t.Fatalf("TouchSessions(unknown) = %v, want nil", err)
			}
		}},
		{"within a minute it may skip, never moves back", func(t *testing.T, st Store) {
			base := baseTime()
			_, first := createPlayer(t, st, base)
			at := base.Add(2 * time.Minute)
			if err := st.TouchSessions(t.Context(), []uuid.UUID{first.ID}, at); err != nil {
				t.Fatalf("TouchSessions = %v, want nil", err)
			}
			soon := at.Add(10 * time.Second)
			if err := st.TouchSessions(t.Context(), []uuid.UUID{first.ID}, soon); err != nil {
				t.Fatalf("TouchSessions = %v, want nil", err)
			}
			got := getSession(t, st, first.ID).LastSeenAt
			if !got.Equal(at) && !got.Equal(soon) {
				t.Errorf("LastSeenAt after a second touch = %v, want %v or %v", got, at, soon)
			}
			if err := st.TouchSessions(t.Context(), []uuid.UUID{first.ID}, base); err != nil {
				t.Fatalf("TouchSessions(earlier) = %v, want nil", err)
			}
			if back := getSession(t, st, first.ID).LastSeenAt; !back.Equal(got) {
				t.Errorf("LastSeenAt after touching at an earlier time = %v, want %v (unchanged)", back, got)
			}
		}},
		{"touches revoked sessions too", func(t *testing.T, st Store) {
			base := baseTime()
			_, first := createPlayer(t, st, base)
			want := revoke(t, st, first.ID, base.Add(time.Minute), session.ReasonLogout)
			at := base.Add(5 * time.Minute)
			if err := st.TouchSessions(t.Context(), []uuid.UUID{first.ID}, at); err != nil {
				t.Fatalf("TouchSessions(revoked) = %v, want nil", err)
			}
			want.LastSeenAt = at
			checkSession(t, "Session after TouchSessions", getSession(t, st, first.ID), want)
		}},
		{"a batch larger than any store's statement", func(t *testing.T, st Store) {
			base := baseTime()
			p, first := createPlayer(t, st, base)
			last := addSession(t, st, p, base)
			ids := make([]uuid.UUID, 0, 2502)
			ids = append(ids, first.ID)
			for range 2500 {
				ids = append(ids, uuid.New())
			}
			ids = append(ids, last.ID) // in a later batch than first
			at := base.Add(2 * time.Minute)
			if err := st.TouchSessions(t.Context(), ids, at); err != nil {
				t.Fatalf("TouchSessions(%d ids) = %v, want nil", len(ids), err)
			}
			for _, s := range []session.Session{first, last} {
				if got := getSession(t, st, s.ID).LastSeenAt; !got.Equal(at) {
					t.Errorf("LastSeenAt of %s = %v, want %v", s.ID, got, at)
				}
			}
		}},
	}
}

func revokeSessionTests() []test {
	return []test{
		{"revokes and returns the session", func(t *testing.T, st Store) {
			base := baseTime()
			_, first := createPlayer(t, st, base)
			at := base.Add(time.Minute)
			want := revoked(first, at, session.ReasonLogout)
			checkSession(t, "RevokeSession", revoke(t, st, first.ID, at, session.ReasonLogout), want)
			checkSession(t, "Session", getSession(t, st, first.ID), want)
		}},
		{"the first revocation stands", func(t *testing.T, st Store) {
			base := baseTime()
			_, first := createPlayer(t, st, base)
			at := base.Add(time.Minute)
			want := revoked(first, at, session.ReasonLogout)
			revoke(t, st, first.ID, at, session.ReasonLogout)
			checkSession(t, "RevokeSession again", revoke(t, st, first.ID, at.Add(time.Minute), session.ReasonAdmin), want)
			checkSession(t, "Session", getSession(t, st, first.ID), want)
		}},
		{"unknown is ErrNotFound", func(t *testing.T, st Store) {
			_, err := st.RevokeSession(t.Context(), uuid.New(), baseTime(), session.ReasonAdmin)
			checkErr(t, "RevokeSession(unknown)", err, session.ErrNotFound)
		}},
	}
}

func revokePlayerSessionsTests() []test {
	return []test{
		{"revokes the active sessions only", func(t *testing.T, st Store) {
			base := baseTime()
			p, first := createPlayer(t, st, base)
			s2 := addSession(t, st, p, base.Add(1*time.Minute))
			s3 := addSession(t, st, p, base.Add(2*time.Minute))
			s3 = revoke(t, st, s3.ID, base.Add(3*time.Minute), session.ReasonLogout)
			expiring := newSession(p.ID, base.Add(4*time.Minute))
			expiring.ExpiresAt = base.Add(5 * time.Minute)
			s4, _ := createSession(t, st, p, expiring, 0)
			other, otherFirst := createPlayer(t, st, base)

			at := base.Add(10 * time.Minute)
			got, err := st.RevokePlayerSessions(t.Context(), p.ID, at, session.ReasonLogoutAll)
			if err != nil {
				t.Fatalf("RevokePlayerSessions = %v, want nil", err)
			}
			want := []session.Session{revoked(first, at, session.ReasonLogoutAll), revoked(s2, at, session.ReasonLogoutAll)}
			checkSessionSet(t, "RevokePlayerSessions", got, want)
			checkSessions(t, "all sessions", playerSessions(t, st, p.ID, at, true), []session.Session{want[0], want[1], s3, s4})
			checkSessions(t, "other player's sessions", playerSessions(t, st, other.ID, at, false), []session.Session{otherFirst})

			got, err = st.RevokePlayerSessions(t.Context(), p.ID, at.Add(time.Minute), session.ReasonAdminPlayer)
			if err != nil || len(got) != 0 {
				t.Errorf("RevokePlayerSessions again = %d sessions, %v; want none, nil", len(got), err)
			}
		}},
		{"unknown player revokes nothing", func(t *testing.T, st Store) {
			got, err := st.RevokePlayerSessions(t.Context(), uuid.New(), baseTime(), session.ReasonAdminPlayer)
			if err != nil || len(got) != 0 {
				t.Errorf("RevokePlayerSessions(unknown) = %d sessions, %v; want none, nil", len(got), err)
			}
		}},
	}
}

func playerSessionsTests() []test {
	return []test{
		{"oldest first, active or all", func(t *testing.T, st Store) {
			base := baseTime()
			// Created out of order, so that insertion order is not creation order.
			p, first := createPlayer(t, st, base.Add(5*time.Minute))
			s2 := addSession(t, st, p, base.Add(1*time.Minute))
			s3 := addSession(t, st, p, base.Add(3*time.Minute))
			s4 := addSession(t, st, p, base.Add(2*time.Minute))
			s4 = revoke(t, st, s4.ID, base.Add(6*time.Minute), session.ReasonLogout)
			expiring := newSession(p.ID, base.Add(4*time.Minute))
			expiring.ExpiresAt = base.Add(7 * time.Minute)
			s5, _ := createSession(t, st, p, expiring, 0)
			createPlayer(t, st, base) // another player's sessions are not listed

			now := base.Add(10 * time.Minute)
			checkSessions(t, "active", playerSessions(t, st, p.ID, now, false), []session.Session{s2, s3, first})
			checkSessions(t, "all", playerSessions(t, st, p.ID, now, true), []session.Session{s2, s4, s3, s5, first})
			// At s5's ExpiresAt it is no longer active; a minute earlier it was.
			checkSessions(t, "active at expiry", playerSessions(t, st, p.ID, s5.ExpiresAt, false), []session.Session{s2, s3, first})
			checkSessions(t, "active before expiry", playerSessions(t, st, p.ID, s5.ExpiresAt.Add(-time.Minute), false),
				[]session.Session{s2, s3, s5, first})
		}},
		{"unknown player has none", func(t *testing.T, st Store) {
			for _, all := range []bool{false, true} {
				if got := playerSessions(t, st, uuid.New(), baseTime(), all); len(got) != 0 {
					t.Errorf("PlayerSessions(unknown, all=%t) = %d sessions, want none", all, len(got))
				}
			}
		}},
	}
}
