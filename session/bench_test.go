package session_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/bigtwo/gateway/session"
	"github.com/bigtwo/gateway/store/memory"
	"github.com/bigtwo/gateway/store/postgres/pgtest"
)

// benchService is a Service over the memory store, as the gateway runs it
// by default.
func benchService(b *testing.B) *session.Service {
	b.Helper()
	keys, err := session.NewKeyRing([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	return session.NewService(memory.New(), keys, zerolog.Nop(), session.Options{})
}

// benchTokens creates n sessions and returns their access tokens.
func benchTokens(b *testing.B, svc *session.Service, n int) []string {
	b.Helper()
	toks := make([]string, n)
	for i := range toks {
		is, err := svc.Create(b.Context(), "", session.ClientInfo{IP: "192.0.2.1", UserAgent: "bench"})
		if err != nil {
			b.Fatalf("Create: %v", err)
		}
		toks[i] = is.Token
	}
	return toks
}

// BenchmarkValidate is the per-socket authentication: JWT verification
// plus the session lookup (TouchSession) in the memory store.
func BenchmarkValidate(b *testing.B) {
	svc := benchService(b)
	tok := benchTokens(b, svc, 1)[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Validate(b.Context(), tok); err != nil {
			b.Fatalf("Validate: %v", err)
		}
	}
}

// BenchmarkValidateParallel validates the tokens of 1,000 different
// sessions from every CPU at once: unrelated players must not serialise on
// one lock.
func BenchmarkValidateParallel(b *testing.B) {
	svc := benchService(b)
	toks := benchTokens(b, svc, 1000)
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tok := toks[next.Add(1)%uint64(len(toks))]
			if _, err := svc.Validate(b.Context(), tok); err != nil {
				b.Errorf("Validate: %v", err)
				return
			}
		}
	})
}

// BenchmarkCreate is POST /session without HTTP: a new player, username,
// session, refresh token and signed access token.
func BenchmarkCreate(b *testing.B) {
	svc := benchService(b)
	client := session.ClientInfo{IP: "192.0.2.1", UserAgent: "bench"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Create(b.Context(), "", client); err != nil {
			b.Fatalf("Create: %v", err)
		}
	}
}

// BenchmarkAuthenticate is a socket's authentication on each path: fast
// (JWT verification and the revoked set, no store call; with a real
// PostgreSQL feed, its Synced too) and store (JWT verification and
// TouchSession: a map lookup in memory, a round trip to PostgreSQL). The
// PostgreSQL rows skip unless GATEWAY_TEST_DATABASE_URL is set.
func BenchmarkAuthenticate(b *testing.B) {
	run := func(b *testing.B, svc *session.Service, tok string) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.Authenticate(b.Context(), tok); err != nil {
				b.Fatalf("Authenticate: %v", err)
			}
		}
	}
	b.Run("fast/memory", func(b *testing.B) {
		keys := pgKeys(b)
		svc := session.NewService(memory.New(), keys, zerolog.Nop(), session.Options{Feed: &fakeFeed{now: time.Now}})
		run(b, svc, benchTokens(b, svc, 1)[0])
	})
	b.Run("store/memory", func(b *testing.B) {
		svc := benchService(b)
		run(b, svc, benchTokens(b, svc, 1)[0])
	})
	b.Run("fast/postgres", func(b *testing.B) {
		g := startPGGateway(b, pgtest.Schema(b), pgKeys(b), pgGatewayOptions{})
		run(b, g.svc, benchTokens(b, g.svc, 1)[0])
	})
	b.Run("store/postgres", func(b *testing.B) {
		g := startPGGateway(b, pgtest.Schema(b), pgKeys(b), pgGatewayOptions{noWatch: true})
		run(b, g.svc, benchTokens(b, g.svc, 1)[0])
	})
}
