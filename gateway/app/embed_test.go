package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/app"
	"github.com/bigtwo/gateway/gateway/room"
	"github.com/bigtwo/gateway/gateway/room/chat"
)

// gameMain is the whole of a game's own main package, as docs/ROOMS.md
// shows it (there with app.Main): the product with the game's room kind
// next to the chat rooms.
func gameMain(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	return app.Run(ctx, []string{"tally"}, getenv, stdout, io.Discard, app.Options{
		Kinds: func(e app.Env) []*room.Kind {
			return []*room.Kind{chat.Kind(), tallyKind(e)}
		},
	})
}

// tallyKind is the game's module: tally.join {"room"} joins (tally.joined
// with the members' count), tally.add {"room","n"} adds n to the room's
// total (tally.total to everyone); a member who drops or loses their
// session is announced as tally.left {"player_id","reason"}.
func tallyKind(e app.Env) *room.Kind {
	return &room.Kind{
		Name:   "tally",
		Prefix: "tally.",
		Route: func(m gateway.Message) (room.Target, error) {
			var d struct {
				Room string `json:"room"`
			}
			if json.Unmarshal(m.Data, &d) != nil || d.Room == "" {
				return room.Target{}, gateway.Error{Code: "bad_room", Message: "which room?"}
			}
			return room.Target{Room: d.Room, Create: m.Type == "tally.join"}, nil
		},
		New: func(name string) room.Handler {
			e.Log.Info("tally room made", "room", name)
			return &tally{}
		},
	}
}

type tally struct{ total int }

func (t *tally) Message(r *room.Context, s room.Socket, m gateway.Message) error {
	switch m.Type {
	case "tally.join":
		if _, err := r.Join(s); err != nil {
			return err
		}
		r.Reply(jsonFrame("tally.joined", map[string]int{"members": len(r.Members())}))
	case "tally.add":
		var d struct{ N int }
		if err := json.Unmarshal(m.Data, &d); err != nil {
			return gateway.Error{Code: "bad_request", Message: "n must be a number"}
		}
		t.total += d.N
		r.Broadcast(jsonFrame("tally.total", map[string]int{"total": t.total}))
	default:
		return gateway.Error{Code: "unknown_type", Message: "unknown frame type " + m.Type}
	}
	return nil
}

func (t *tally) Leave(r *room.Context, p room.Player, why room.Reason) {
	r.Broadcast(jsonFrame("tally.left", map[string]string{"player_id": p.ID.String(), "reason": why.String()}))
}

func jsonFrame(typ string, v any) gateway.Message {
	b, _ := json.Marshal(v)
	return gateway.Message{Type: typ, Data: b}
}

// TestEmbedded runs gameMain and checks, through its real HTTP server,
// what every program built on the package gets: readiness, metrics, the
// admin API, the game's frames next to the chat rooms, and revocations
// that close sockets (4003) and reach the game's rooms.
func TestEmbedded(t *testing.T) {
	g := startGame(t, map[string]string{"GATEWAY_ADMIN_TOKEN": "an-admin-token-for-tests"})
	g.waitReady(t)

	alice, bob := g.newSession(t), g.newSession(t)
	a, b := g.dial(t, alice.Token), g.dial(t, bob.Token)

	a.send(t, `{"type":"tally.join","id":1,"data":{"room":"t"}}`)
	a.expect(t, `{"type":"tally.joined","id":1,"data":{"members":1}}`)
	b.send(t, `{"type":"tally.join","id":2,"data":{"room":"t"}}`)
	b.expect(t, `{"type":"tally.joined","id":2,"data":{"members":2}}`)
	a.send(t, `{"type":"tally.add","id":3,"data":{"room":"t","n":5}}`)
	a.expect(t, `{"type":"tally.total","id":3,"data":{"total":5}}`)
	b.expect(t, `{"type":"tally.total","data":{"total":5}}`)
	a.send(t, `{"type":"tally.nope","id":4,"data":{"room":"t"}}`)
	a.expect(t, `{"type":"error","id":4,"data":{"code":"unknown_type","message":"unknown frame type tally.nope"}}`)
	// The chat rooms next to it.
	a.send(t, `{"type":"room.list","id":5}`)
	a.expect(t, `{"type":"room.list","id":5,"data":{"rooms":[],"total":0}}`)

	if res := g.get(t, "/metrics", ""); res.status != 200 ||
		!strings.Contains(res.body, "gateway_sockets 2") ||
		!strings.Contains(res.body, `gateway_frames_received_total{family="other"} 4`) {
		t.Errorf("GET /metrics = %d, without the sockets and the module's frames:\n%s", res.status, res.body)
	}

	// The admin API: bob's sessions, and one revoked. His socket closes
	// and the game sees him leave with his session revoked.
	res := g.get(t, "/admin/sessions?player_id="+bob.PlayerID, "an-admin-token-for-tests")
	if res.status != 200 || !strings.Contains(res.body, bob.SessionID) {
		t.Fatalf("GET /admin/sessions = %d %s, want bob's session", res.status, res.body)
	}
	if res := g.do(t, "DELETE", "/admin/sessions/"+bob.SessionID, "an-admin-token-for-tests"); res.status != 204 {
		t.Fatalf("DELETE /admin/sessions/{id} = %d %s", res.status, res.body)
	}
	if code := b.waitClose(t); code != 4003 {
		t.Errorf("bob's socket after the admin revoked his session closed with %d, want 4003", code)
	}
	a.expect(t, `{"type":"tally.left","data":{"player_id":"`+bob.PlayerID+`","reason":"revoked"}}`)

	// Logout closes the socket with 4003.
	if res := g.do(t, "DELETE", "/session", alice.Token); res.status != 204 {
		t.Fatalf("DELETE /session = %d %s", res.status, res.body)
	}
	if code := a.waitClose(t); code != 4003 {
		t.Errorf("alice's socket after logout closed with %d, want 4003", code)
	}
}

// game is gameMain running on a free port.
type game struct {
	url  string
	done chan error
}

// startGame runs gameMain with env (and GATEWAY_ADDR=127.0.0.1:0), reads
// its address from the "listening" log line, and stops it at cleanup.
func startGame(t *testing.T, env map[string]string) *game {
	t.Helper()
	vars := map[string]string{"GATEWAY_ADDR": "127.0.0.1:0"}
	for k, v := range env {
		vars[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	g := &game{done: make(chan error, 1)}
	addr := make(chan string, 1)
	scanned := make(chan struct{})
	go func() { // ends when gameMain closes pw
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var l struct{ Message, Addr string }
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Message == "listening" {
				addr <- l.Addr
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		err := gameMain(ctx, func(k string) string { return vars[k] }, pw)
		pw.Close()
		g.done <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-g.done:
			if err != nil {
				t.Errorf("gameMain: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("gameMain did not stop within 15s")
		}
		<-scanned
	})
	select {
	case a := <-addr:
		g.url = "http://" + a
	case err := <-g.done:
		t.Fatalf("gameMain exited before listening: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("gameMain did not log listening within 10s")
	}
	return g
}

// waitReady polls /readyz until it answers 200, failing after 10 s.
func (g *game) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := g.get(t, "/readyz", "")
		if res.status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d %s after 10s", res.status, res.body)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
	}
}

type result struct {
	status int
	body   string
}

func (g *game) get(t *testing.T, path, bearer string) result { return g.do(t, "GET", path, bearer) }

func (g *game) do(t *testing.T, method, path, bearer string) result {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, g.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return result{res.StatusCode, string(b)}
}

type created struct {
	Token     string `json:"token"`
	SessionID string `json:"session_id"`
	PlayerID  string `json:"player_id"`
}

func (g *game) newSession(t *testing.T) created {
	t.Helper()
	res := g.do(t, "POST", "/session", "")
	var c created
	if res.status != http.StatusCreated || json.Unmarshal([]byte(res.body), &c) != nil {
		t.Fatalf("POST /session = %d %s", res.status, res.body)
	}
	return c
}

type socket struct{ c *websocket.Conn }

// dial opens a socket with the token and reads its welcome.
func (g *game) dial(t *testing.T, token string) *socket {
	t.Helper()
	c, _, err := websocket.Dial(t.Context(), "ws"+strings.TrimPrefix(g.url, "http")+"/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	s := &socket{c}
	if f := s.read(t); !strings.HasPrefix(f, `{"type":"welcome"`) {
		t.Fatalf("first frame %s, want welcome", f)
	}
	return s
}

func (s *socket) send(t *testing.T, frame string) {
	t.Helper()
	if err := s.c.Write(t.Context(), websocket.MessageText, []byte(frame)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func (s *socket) read(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, b, err := s.c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

// expect reads the next frame, which must be want (compared as JSON).
func (s *socket) expect(t *testing.T, want string) {
	t.Helper()
	got := s.read(t)
	var g, w any
	if json.Unmarshal([]byte(got), &g) != nil || json.Unmarshal([]byte(want), &w) != nil || !jsonEqual(g, w) {
		t.Fatalf("frame = %s, want %s", got, want)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a) // maps marshal with sorted keys
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// waitClose reads until the socket closes and returns the close code.
func (s *socket) waitClose(t *testing.T) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := s.c.Read(ctx); err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("waiting for close: %v", err)
			}
			return ce.Code
		}
	}
}
