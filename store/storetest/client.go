package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/bigtwo/gateway/session"
)

// clientCases are client descriptions as they arrive from the network and
// as every store must record them (session.ClientInfo.Recorded): valid
// UTF-8, each run of invalid bytes replaced by U+FFFD, the user agent cut
// to session.MaxUserAgentBytes on a character boundary.
var clientCases = []struct {
	name     string
	in, want session.ClientInfo
}{
	{"invalid bytes",
		session.ClientInfo{IP: "192.0.2.1", UserAgent: "bot\xff\xfe"},
		session.ClientInfo{IP: "192.0.2.1", UserAgent: "bot\uFFFD"}},
	{"a cut through a character",
		session.ClientInfo{IP: "192.0.2.1", UserAgent: strings.Repeat("a", 511) + "é"},
		session.ClientInfo{IP: "192.0.2.1", UserAgent: strings.Repeat("a", 511)}},
	{"too long",
		session.ClientInfo{IP: "192.0.2.1", UserAgent: strings.Repeat("ü", 300)},
		session.ClientInfo{IP: "192.0.2.1", UserAgent: strings.Repeat("ü", 256)}},
	{"an invalid address",
		session.ClientInfo{IP: "\xc0\xaf", UserAgent: "ok"},
		session.ClientInfo{IP: "\uFFFD", UserAgent: "ok"}},
}

func clientInfoTests() []test {
	var tests []test
	for _, c := range clientCases {
		tests = append(tests,
			test{"CreatePlayer: " + c.name, func(t *testing.T, st Store) {
				base := baseTime()
				p := newPlayer(base)
				first := newSession(p.ID, base)
				first.IP, first.UserAgent = c.in.IP, c.in.UserAgent
				if err := st.CreatePlayer(t.Context(), p, first); err != nil {
					t.Fatalf("CreatePlayer(%q) = %v, want nil", c.in, err)
				}
				checkClient(t, "CreatePlayer", getSession(t, st, first.ID), c.want)
			}},
			test{"CreateSession: " + c.name, func(t *testing.T, st Store) {
				base := baseTime()
				p, _ := createPlayer(t, st, base)
				s := newSession(p.ID, base)
				s.IP, s.UserAgent = c.in.IP, c.in.UserAgent
				if _, err := st.CreateSession(t.Context(), s, 0); err != nil {
					t.Fatalf("CreateSession(%q) = %v, want nil", c.in, err)
				}
				checkClient(t, "CreateSession", getSession(t, st, s.ID), c.want)
			}},
			test{"RotateRefresh: " + c.name, func(t *testing.T, st Store) {
				base := baseTime()
				_, first := createPlayer(t, st, base)
				now := base.Add(time.Minute)
				got, err := st.RotateRefresh(t.Context(), first.RefreshHash, newHash(), now, now.Add(time.Hour), c.in)
				if err != nil {
					t.Fatalf("RotateRefresh(%q) = %v, want nil", c.in, err)
				}
				checkClient(t, "RotateRefresh", got, c.want)
				checkClient(t, "Session after RotateRefresh", getSession(t, st, first.ID), c.want)
			}},
		)
	}
	return tests
}

// checkClient fails the test unless s records want.
func checkClient(t *testing.T, what string, s session.Session, want session.ClientInfo) {
	t.Helper()
	if got := (session.ClientInfo{IP: s.IP, UserAgent: s.UserAgent}); got != want {
		t.Errorf("%s: client = %q, want %q", what, got, want)
	}
}
