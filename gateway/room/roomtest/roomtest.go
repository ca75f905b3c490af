// Package roomtest runs room kinds behind a real gateway over real
// WebSockets, for the tests of room modules (the shipped ones and any
// game's): players with one or more tabs, frames sent and awaited with a
// deadline, revocations as the store's feed would send them.
package roomtest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/room"
	"github.com/bigtwo/gateway/session"
	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/rs/zerolog"
)

// Wait is how long a test waits for a frame or a close.
const Wait = 10 * time.Second

// Env is a gateway serving room kinds on an httptest server, with tokens
// handed out by the test. Close runs at the test's cleanup.
type Env struct {
	tb      testing.TB
	auth    *auth
	URL     string // ws://.../ws
	Server  *gateway.Server
	Runtime *room.Runtime
}

type auth struct {
	mu     sync.Mutex
	tokens map[string]session.Identity
}

func (a *auth) Authenticate(ctx context.Context, token string) (session.Identity, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	id, ok := a.tokens[token]
	if !ok {
		return session.Identity{}, session.ErrInvalidToken
	}
	return id, nil
}

// New starts a gateway with a Runtime of kinds (opts as given) and
// gateway options gopts (message rate off unless set).
func New(tb testing.TB, opts room.Options, gopts gateway.Options, kinds ...*room.Kind) *Env {
	tb.Helper()
	return newEnv(tb, &auth{tokens: make(map[string]session.Identity)}, opts, gopts, nil, kinds...)
}

// Node starts another gateway that shares e's tokens (a player of e opens
// tabs on it with TabAt), with its own runtime; wrap, if not nil, makes
// the gateway's Handler of the runtime (a cluster's).
func (e *Env) Node(tb testing.TB, opts room.Options, gopts gateway.Options, wrap func(*room.Runtime) gateway.Handler, kinds ...*room.Kind) *Env {
	tb.Helper()
	return newEnv(tb, e.auth, opts, gopts, wrap, kinds...)
}

// NewWith is New with wrap (see Node).
func NewWith(tb testing.TB, opts room.Options, gopts gateway.Options, wrap func(*room.Runtime) gateway.Handler, kinds ...*room.Kind) *Env {
	tb.Helper()
	return newEnv(tb, &auth{tokens: make(map[string]session.Identity)}, opts, gopts, wrap, kinds...)
}

func newEnv(tb testing.TB, a *auth, opts room.Options, gopts gateway.Options, wrap func(*room.Runtime) gateway.Handler, kinds ...*room.Kind) *Env {
	e := &Env{tb: tb, auth: a}
	e.Runtime = room.New(zerolog.Nop(), opts, kinds...)
	if gopts.MessageRate == 0 {
		gopts.MessageRate, gopts.MessageBurst = 1e6, 1e6
	}
	var h gateway.Handler = e.Runtime
	if wrap != nil {
		h = wrap(e.Runtime)
	}
	e.Server = gateway.NewServer(e.auth, h, zerolog.Nop(), gopts)
	ts := httptest.NewServer(e.Server)
	e.URL = "ws" + strings.TrimPrefix(ts.URL, "http")
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(tb.Context()), 15*time.Second)
		defer cancel()
		if err := e.Runtime.Shutdown(ctx); err != nil {
			tb.Errorf("Runtime.Shutdown: %v", err)
		}
		if err := e.Server.Shutdown(ctx); err != nil {
			tb.Errorf("Server.Shutdown: %v", err)
		}
		ts.Close()
	})
	return e
}

// Player is a test player: one identity, any number of sessions and tabs.
type Player struct {
	e        *Env
	ID       uuid.UUID
	Name     string
	Session  uuid.UUID // the first session's id
	sessions []uuid.UUID
}

// Player makes a player with one session.
func (e *Env) Player(name string) *Player {
	p := &Player{e: e, ID: uuid.New(), Name: name, Session: uuid.New()}
	p.sessions = []uuid.UUID{p.Session}
	return p
}

// NewSession gives the player another session (a second device).
func (p *Player) NewSession() uuid.UUID {
	s := uuid.New()
	p.sessions = append(p.sessions, s)
	return s
}

// JSON is the player as frames show a member: {"player_id","username"}.
func (p *Player) JSON() string {
	b, _ := json.Marshal(map[string]string{"player_id": p.ID.String(), "username": p.Name})
	return string(b)
}

// Revoke tells the gateway and the runtime that session sid is revoked,
// as the store's revocation feed does.
func (p *Player) Revoke(sid uuid.UUID) {
	r := session.Revocation{SessionID: sid, PlayerID: p.ID, Reason: "logout"}
	p.e.Server.Revoked(r)
	p.e.Runtime.Revoked(r)
}

// Tab opens a socket of the player's first session and reads its welcome.
func (p *Player) Tab() *Client { return p.TabOf(p.Session) }

// TabAt opens a socket of the player's first session on gateway e (a Node
// of the player's) and reads its welcome.
func (p *Player) TabAt(e *Env) *Client { return p.dial(e, p.Session) }

// TabAtRaw opens a socket of the player's first session on gateway e
// without reading anything (for a socket that is refused).
func (p *Player) TabAtRaw(e *Env) *Client {
	tb := p.e.tb
	tb.Helper()
	return p.open(e, p.Session)
}

// TabOf opens a socket of session sid and reads its welcome.
func (p *Player) TabOf(sid uuid.UUID) *Client { return p.dial(p.e, sid) }

func (p *Player) dial(e *Env, sid uuid.UUID) *Client {
	p.e.tb.Helper()
	cl := p.open(e, sid)
	if f := cl.Read(); f.Type != "welcome" {
		p.e.tb.Fatalf("first frame = %s, want welcome", f.Type)
	}
	return cl
}

func (p *Player) open(e *Env, sid uuid.UUID) *Client {
	tb := p.e.tb
	tb.Helper()
	id := session.Identity{PlayerID: p.ID, SessionID: sid, Username: p.Name, ExpiresAt: time.Now().Add(time.Hour)}
	tok := uuid.NewString()
	p.e.auth.mu.Lock()
	p.e.auth.tokens[tok] = id
	p.e.auth.mu.Unlock()
	ctx, cancel := context.WithTimeout(tb.Context(), Wait)
	defer cancel()
	c, _, err := websocket.Dial(ctx, e.URL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
	if err != nil {
		tb.Fatalf("Dial: %v", err)
	}
	c.SetReadLimit(1 << 20)
	tb.Cleanup(func() { c.CloseNow() })
	return &Client{tb: tb, C: c, P: p}
}

// Client is one socket.
type Client struct {
	tb testing.TB
	C  *websocket.Conn
	P  *Player
}

// Frame is a received frame.
type Frame struct {
	Type string          `json:"type"`
	ID   json.RawMessage `json:"id"`
	Data json.RawMessage `json:"data"`
}

// Decode decodes the frame's data into v, failing the test if it cannot.
func (f Frame) Decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(f.Data, v); err != nil {
		tb.Fatalf("%s data %s: %v", f.Type, f.Data, err)
	}
}

// Send writes one text frame.
func (cl *Client) Send(s string) {
	cl.tb.Helper()
	ctx, cancel := context.WithTimeout(cl.tb.Context(), Wait)
	defer cancel()
	if err := cl.C.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		cl.tb.Fatalf("Write: %v", err)
	}
}

// Read reads the next frame, failing the test after Wait.
func (cl *Client) Read() Frame {
	cl.tb.Helper()
	ctx, cancel := context.WithTimeout(cl.tb.Context(), Wait)
	defer cancel()
	_, b, err := cl.C.Read(ctx)
	if err != nil {
		cl.tb.Fatalf("Read: %v", err)
	}
	var f Frame
	if err := json.Unmarshal(b, &f); err != nil {
		cl.tb.Fatalf("Read: %q: %v", b, err)
	}
	return f
}

// ReadType reads frames until one of type typ, which it returns.
func (cl *Client) ReadType(typ string) Frame {
	cl.tb.Helper()
	for {
		if f := cl.Read(); f.Type == typ {
			return f
		}
	}
}

// Expect reads the next frame and compares it with typ, id (as raw JSON,
// "" for none) and data (as JSON).
func (cl *Client) Expect(typ, id, data string) {
	cl.tb.Helper()
	f := cl.Read()
	var got, want any
	_ = json.Unmarshal(f.Data, &got)
	if err := json.Unmarshal([]byte(data), &want); err != nil {
		cl.tb.Fatalf("bad want %s: %v", data, err)
	}
	if f.Type != typ || string(f.ID) != id {
		cl.tb.Fatalf("frame = %s id %s %s, want %s id %s", f.Type, f.ID, f.Data, typ, id)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		cl.tb.Fatalf("%s data (-want +got):\n%s", typ, diff)
	}
}

// ExpectError reads the next frame, which must be an error with code and
// id (raw JSON).
func (cl *Client) ExpectError(code, id string) {
	cl.tb.Helper()
	f := cl.Read()
	var e gateway.Error
	_ = json.Unmarshal(f.Data, &e)
	if f.Type != "error" || e.Code != code || string(f.ID) != id {
		cl.tb.Fatalf("frame = %s id %s %s, want error %s id %s", f.Type, f.ID, f.Data, code, id)
	}
}

// Ping round-trips a ping: every frame sent to this socket before it has
// then been read (and is returned), so a test can check that nothing
// else came.
func (cl *Client) Ping() []Frame {
	cl.tb.Helper()
	cl.Send(`{"type":"ping","id":"roomtest-sync"}`)
	var before []Frame
	for {
		f := cl.Read()
		if f.Type == "pong" && string(f.ID) == `"roomtest-sync"` {
			return before
		}
		before = append(before, f)
	}
}

// ExpectNothing fails the test if any frame other than the ping's answer
// arrives before it (the room has sent nothing more).
func (cl *Client) ExpectNothing() {
	cl.tb.Helper()
	if got := cl.Ping(); len(got) > 0 {
		cl.tb.Fatalf("unexpected frames: %+v", got)
	}
}

// Close closes the socket normally (1000).
func (cl *Client) Close() { cl.C.Close(websocket.StatusNormalClosure, "") }

// Drop drops the connection without a close frame (1006).
func (cl *Client) Drop() { cl.C.CloseNow() }

// WaitClose reads until the socket closes and returns its status.
func (cl *Client) WaitClose() websocket.StatusCode {
	cl.tb.Helper()
	ctx, cancel := context.WithTimeout(cl.tb.Context(), Wait)
	defer cancel()
	for {
		if _, _, err := cl.C.Read(ctx); err != nil {
			if ctx.Err() != nil {
				cl.tb.Fatalf("no close within %v", Wait)
			}
			return websocket.CloseStatus(err)
		}
	}
}
