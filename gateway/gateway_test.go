package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bigtwo/gateway/session"
	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeAuth is the seam's ten-line fake: tokens map to an identity or error.
type fakeAuth struct {
	mu     sync.Mutex
	tokens map[string]authResult
}

type authResult struct {
	id  session.Identity
	err error
}

func (a *fakeAuth) Authenticate(ctx context.Context, token string) (session.Identity, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.tokens[token]
	if !ok {
		return session.Identity{}, fmt.Errorf("verify: %w", session.ErrInvalidToken)
	}
	return r.id, r.err
}

func (a *fakeAuth) set(token string, id session.Identity, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokens[token] = authResult{id, err}
}

// testHandler records the Handler calls and implements a few test frames:
// room.echo (echoes data), room.flood (sends n frames of size bytes),
// room.fail (returns an Error), room.block (blocks until released),
// room.stuck (blocks until unstuck is closed, ignoring ctx).
type testHandler struct {
	connected    chan *Conn
	disconnected chan error
	release      chan struct{}
	unstuck      chan struct{}
	stuck        chan struct{} // receives when room.stuck starts blocking
	sendErr      chan error
}

func newTestHandler() *testHandler {
	return &testHandler{
		connected:    make(chan *Conn, 1000),
		disconnected: make(chan error, 1000),
		release:      make(chan struct{}),
		unstuck:      make(chan struct{}),
		stuck:        make(chan struct{}, 10),
		sendErr:      make(chan error, 1),
	}
}

func (h *testHandler) Connect(ctx context.Context, c *Conn) error {
	h.connected <- c
	return nil
}

func (h *testHandler) Disconnect(c *Conn, reason error) { h.disconnected <- reason }

func (h *testHandler) Message(ctx context.Context, c *Conn, m Message) error {
	switch m.Type {
	case "room.echo":
		return c.Send(Message{Type: "room.echoed", ID: m.ID, Data: m.Data})
	case "room.flood":
		var d struct{ N, Size int }
		if err := json.Unmarshal(m.Data, &d); err != nil {
			return Error{Code: "bad_request", Message: err.Error()}
		}
		data, _ := json.Marshal(strings.Repeat("x", d.Size))
		for range d.N {
			if err := c.Send(Message{Type: "room.flooded", Data: data}); err != nil {
				h.sendErr <- err
				return nil
			}
		}
		return nil
	case "room.fail":
		return Error{Code: "not_in_room", Message: "nope"}
	case "room.block":
		select {
		case <-h.release:
		case <-ctx.Done():
		}
		return c.Send(Message{Type: "room.unblocked", ID: m.ID})
	case "room.stuck":
		h.stuck <- struct{}{}
		<-h.unstuck
		return nil
	}
	return Error{Code: "unknown_type", Message: m.Type}
}

type testGateway struct {
	srv  *Server
	ts   *httptest.Server
	auth *fakeAuth
	h    *testHandler
	url  string // ws://host/ws
}

func newTestGateway(t *testing.T, opts Options) *testGateway {
	t.Helper()
	g := &testGateway{auth: &fakeAuth{tokens: make(map[string]authResult)}, h: newTestHandler()}
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	g.srv = NewServer(g.auth, g.h, log, opts)
	mux := http.NewServeMux()
	mux.Handle("GET /ws", g.srv)
	g.ts = httptest.NewServer(mux)
	g.url = "ws" + strings.TrimPrefix(g.ts.URL, "http") + "/ws"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 15*time.Second)
		defer cancel()
		if err := g.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		g.ts.Close()
	})
	return g
}

// token registers a fresh identity valid for ttl and returns its token.
func (a *fakeAuth) token(ttl time.Duration) (string, session.Identity) {
	id := session.Identity{
		PlayerID:         uuid.New(),
		SessionID:        uuid.New(),
		Username:         "brave-otter",
		ExpiresAt:        time.Now().Add(ttl).Truncate(time.Millisecond),
		SessionExpiresAt: time.Now().Add(time.Hour),
	}
	tok := "tok-" + uuid.NewString()
	a.set(tok, id, nil)
	return tok, id
}

// tokenFor registers another token of an existing identity, valid for ttl.
func (a *fakeAuth) tokenFor(id session.Identity, ttl time.Duration) string {
	id.ExpiresAt = time.Now().Add(ttl).Truncate(time.Millisecond)
	tok := "tok-" + uuid.NewString()
	a.set(tok, id, nil)
	return tok
}

// token registers a fresh identity valid for ttl and returns its token.
func (g *testGateway) token(t *testing.T, ttl time.Duration) (string, session.Identity) {
	t.Helper()
	return g.auth.token(ttl)
}

// tokenFor registers another token of an existing identity, valid for ttl.
func (g *testGateway) tokenFor(id session.Identity, ttl time.Duration) string {
	return g.auth.tokenFor(id, ttl)
}

func (g *testGateway) dialOpts(t *testing.T, url string, opts *websocket.DialOptions) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, opts)
	if c != nil {
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, resp, err
}

// dial opens a socket authenticated with an Authorization header.
func (g *testGateway) dial(t *testing.T, tok string) *websocket.Conn {
	t.Helper()
	c, _, err := g.dialOpts(t, g.url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}},
	})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	return c
}

// dialWelcomed opens an authenticated socket and reads its welcome.
func (g *testGateway) dialWelcomed(t *testing.T, tok string) *websocket.Conn {
	t.Helper()
	c := g.dial(t, tok)
	waitFrame(t, c, "welcome")
	return c
}

// frame is a decoded server frame.
type frame struct {
	Type string          `json:"type"`
	ID   json.RawMessage `json:"id"`
	Data json.RawMessage `json:"data"`
}

func writeJSON(t *testing.T, c *websocket.Conn, s string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		t.Fatalf("Write(%s): %v", s, err)
	}
}

// readFrame reads the next frame, failing the test after 5 s or on close.
func readFrame(t *testing.T, c *websocket.Conn) frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("Read: message type %v, want text", typ)
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("Read: %q is not a frame: %v", b, err)
	}
	return f
}

// waitFrame reads frames until one of type typ arrives.
func waitFrame(t *testing.T, c *websocket.Conn, typ string) frame {
	t.Helper()
	for {
		if f := readFrame(t, c); f.Type == typ {
			return f
		}
	}
}

// waitClose reads until the socket ends and returns the close status and
// reason the server sent (-1 if it dropped the connection), and the types of
// the frames read on the way.
func waitClose(t *testing.T, c *websocket.Conn, within time.Duration) (websocket.StatusCode, string, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), within)
	defer cancel()
	var types []string
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("no close within %v (frames %v)", within, types)
			}
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason, types
			}
			return -1, err.Error(), types
		}
		var f frame
		_ = json.Unmarshal(b, &f)
		types = append(types, f.Type)
	}
}

func wantClose(t *testing.T, c *websocket.Conn, want websocket.StatusCode) string {
	t.Helper()
	got, reason, types := waitClose(t, c, 10*time.Second)
	if got != want {
		t.Fatalf("close status = %d (%q, after %v), want %d", got, reason, types, want)
	}
	return reason
}

// wantError reads the next frame and checks it is an error with code and id.
func wantError(t *testing.T, c *websocket.Conn, code, id string) {
	t.Helper()
	f := readFrame(t, c)
	var e Error
	_ = json.Unmarshal(f.Data, &e)
	if f.Type != "error" || e.Code != code || string(f.ID) != id {
		t.Fatalf("frame = %s id %s %s, want error %s id %s", f.Type, f.ID, f.Data, code, id)
	}
}

// roundTrip checks the socket is alive with a ping frame.
func roundTrip(t *testing.T, c *websocket.Conn) {
	t.Helper()
	writeJSON(t, c, `{"type":"ping","id":"rt"}`)
	for {
		if f := waitFrame(t, c, "pong"); string(f.ID) == `"rt"` {
			return
		}
	}
}
