package storetest

import (
	"testing"
	"time"

	"github.com/bigtwo/gateway/session"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

func createPlayerTests() []test {
	return []test{
		{"stores the player and its first session", func(t *testing.T, st Store) {
			base := baseTime()
			p, first := createPlayer(t, st, base)
			got, err := st.Player(t.Context(), p.ID)
			if err != nil {
				t.Fatalf("Player(%s) = %v, want nil", p.ID, err)
			}
			if d := cmp.Diff(p, got, cmpOpts()); d != "" {
				t.Errorf("Player(%s) mismatch (-want +got):\n%s", p.ID, d)
			}
			checkSession(t, "Session(first)", getSession(t, st, first.ID), first)
			checkSessions(t, "PlayerSessions", playerSessions(t, st, p.ID, base, false), []session.Session{first})
		}},
		{"a taken username stores nothing", func(t *testing.T, st Store) {
			base := baseTime()
			p1, first1 := createPlayer(t, st, base)
			p2 := newPlayer(base.Add(time.Minute))
			p2.Username = p1.Username
			first2 := newSession(p2.ID, p2.CreatedAt)
			err := st.CreatePlayer(t.Context(), p2, first2)
			checkErr(t, "CreatePlayer(same username)", err, session.ErrUsernameTaken)

			_, err = st.Player(t.Context(), p2.ID)
			checkErr(t, "Player(loser)", err, session.ErrNotFound)
			checkNoSession(t, st, first2.ID)
			_, err = st.RotateRefresh(t.Context(), first2.RefreshHash, newHash(), p2.CreatedAt, p2.CreatedAt.Add(time.Hour), session.ClientInfo{})
			checkErr(t, "RotateRefresh(loser's hash)", err, session.ErrNotFound)
			if got := playerSessions(t, st, p2.ID, p2.CreatedAt, true); len(got) != 0 {
				t.Errorf("PlayerSessions(loser) = %d sessions, want none", len(got))
			}
			checkSession(t, "Session(winner's first)", getSession(t, st, first1.ID), first1)
		}},
		{"another username is accepted", func(t *testing.T, st Store) {
			base := baseTime()
			p1, _ := createPlayer(t, st, base)
			p2, _ := createPlayer(t, st, base)
			if p1.Username == p2.Username {
				t.Fatal("test bug: same username")
			}
		}},
	}
}

func playerTests() []test {
	return []test{
		{"unknown is ErrNotFound", func(t *testing.T, st Store) {
			_, err := st.Player(t.Context(), uuid.New())
			checkErr(t, "Player(unknown)", err, session.ErrNotFound)
		}},
		{"keeps its creation time", func(t *testing.T, st Store) {
			created := baseTime().Add(-48*time.Hour + 123456*time.Microsecond).In(time.FixedZone("UTC+5:30", 5*3600+1800))
			p := newPlayer(created)
			if err := st.CreatePlayer(t.Context(), p, newSession(p.ID, created)); err != nil {
				t.Fatalf("CreatePlayer = %v, want nil", err)
			}
			got, err := st.Player(t.Context(), p.ID)
			if err != nil {
				t.Fatalf("Player(%s) = %v, want nil", p.ID, err)
			}
			if !got.CreatedAt.Equal(created) {
				t.Errorf("Player(%s).CreatedAt = %v, want %v", p.ID, got.CreatedAt, created)
			}
		}},
	}
}
