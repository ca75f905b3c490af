package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

// benchGateway is a Server on a real HTTP server with a fake Authenticator,
// for benchmarks (newTestGateway takes a *testing.T).
func benchGateway(b *testing.B, opts Options) (*testGateway, func()) {
	g := &testGateway{auth: &fakeAuth{tokens: make(map[string]authResult)}, h: newTestHandler()}
	g.srv = NewServer(g.auth, g.h, zerolog.Nop(), opts)
	mux := http.NewServeMux()
	mux.Handle("GET /ws", g.srv)
	g.ts = httptest.NewServer(mux)
	g.url = "ws" + strings.TrimPrefix(g.ts.URL, "http") + "/ws"
	return g, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := g.srv.Shutdown(ctx); err != nil {
			b.Errorf("Shutdown: %v", err)
		}
		g.ts.Close()
	}
}

// benchDial opens a socket with an Authorization header and reads its
// welcome.
func benchDial(b *testing.B, g *testGateway, tok string) *websocket.Conn {
	c, _, err := websocket.Dial(b.Context(), g.url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}},
	})
	if err != nil {
		b.Fatalf("Dial: %v", err)
	}
	if _, p, err := c.Read(b.Context()); err != nil || !strings.Contains(string(p), `"welcome"`) {
		b.Fatalf("first frame %q, %v; want welcome", p, err)
	}
	return c
}

// BenchmarkConnect is a socket's connect + auth through the real server,
// client included: dial, upgrade, header token, welcome; then the client
// closes it. The server's share is what a CPU profile of it shows under
// Server.ServeHTTP and Server.serve.
func BenchmarkConnect(b *testing.B) {
	g, done := benchGateway(b, Options{})
	defer done()
	tok, _ := g.auth.token(time.Hour)
	stop := make(chan struct{})
	defer close(stop)
	go func() { // the handler's channels would fill
		for {
			select {
			case <-g.h.connected:
			case <-g.h.disconnected:
			case <-stop:
				return
			}
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		c := benchDial(b, g, tok)
		c.CloseNow()
	}
}

// BenchmarkPing is an application ping round trip on one socket: the
// client writes {"type":"ping"} and reads the pong the reader answers.
func BenchmarkPing(b *testing.B) {
	g, done := benchGateway(b, Options{MessageRate: rate.Inf})
	defer done()
	tok, _ := g.auth.token(time.Hour)
	c := benchDial(b, g, tok)
	defer c.CloseNow()
	ping := []byte(`{"type":"ping","id":1}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Write(b.Context(), websocket.MessageText, ping); err != nil {
			b.Fatal(err)
		}
		if _, p, err := c.Read(b.Context()); err != nil || string(p) != `{"type":"pong","id":1}` {
			b.Fatalf("read %q, %v; want the pong", p, err)
		}
	}
}

// BenchmarkHeartbeat is the server's heartbeat round trip on one socket:
// a ping control frame written, and its pong read by the socket's reader
// (the client answers it while it reads). It calls Conn.heartbeat as the
// timer does.
func BenchmarkHeartbeat(b *testing.B) {
	g, done := benchGateway(b, Options{PingInterval: time.Hour})
	defer done()
	tok, _ := g.auth.token(time.Hour)
	c := benchDial(b, g, tok)
	defer c.CloseNow()
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	go func() { _, _, _ = c.Read(ctx) }() // answers pings until the end
	sc := <-g.h.connected
	b.ReportAllocs()
	for b.Loop() {
		sc.heartbeat()
		if sc.isClosing() {
			b.Fatal("the heartbeat closed the socket")
		}
	}
}
