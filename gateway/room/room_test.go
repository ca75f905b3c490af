package room_test

import (
	"context"
	"encoding/json"
	"fmt"
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
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeAuth maps tokens to identities: the seam's fake.
type fakeAuth struct {
	mu     sync.Mutex
	tokens map[string]session.Identity
}

func (a *fakeAuth) Authenticate(ctx context.Context, token string) (session.Identity, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	id, ok := a.tokens[token]
	if !ok {
		return session.Identity{}, session.ErrInvalidToken
	}
	return id, nil
}

type env struct {
	auth *fakeAuth
	url  string
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	return newEnvLimits(tb, room.Limits{})
}

func newEnvLimits(tb testing.TB, limits room.Limits) *env {
	tb.Helper()
	e := &env{auth: &fakeAuth{tokens: make(map[string]session.Identity)}}
	srv := gateway.NewServer(e.auth, room.NewWithLimits(zerolog.Nop(), limits), zerolog.Nop(), gateway.Options{MessageRate: 1e6, MessageBurst: 1e6})
	ts := httptest.NewServer(srv)
	e.url = "ws" + strings.TrimPrefix(ts.URL, "http")
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(tb.Context()), 15*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			tb.Errorf("Shutdown: %v", err)
		}
		ts.Close()
	})
	return e
}

type client struct {
	tb     testing.TB
	c      *websocket.Conn
	member room.Member
}

func (e *env) connect(tb testing.TB, name string) *client {
	tb.Helper()
	id := session.Identity{PlayerID: uuid.New(), SessionID: uuid.New(), Username: name, ExpiresAt: time.Now().Add(time.Hour)}
	tok := uuid.NewString()
	e.auth.mu.Lock()
	e.auth.tokens[tok] = id
	e.auth.mu.Unlock()
	ctx, cancel := context.WithTimeout(tb.Context(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, e.url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
	if err != nil {
		tb.Fatalf("Dial: %v", err)
	}
	c.SetReadLimit(1 << 20)
	tb.Cleanup(func() { c.CloseNow() })
	cl := &client{tb: tb, c: c, member: room.Member{PlayerID: id.PlayerID.String(), Username: name}}
	if f := cl.read(); f.Type != "welcome" {
		tb.Fatalf("first frame = %s, want welcome", f.Type)
	}
	return cl
}

type frame struct {
	Type string          `json:"type"`
	ID   json.RawMessage `json:"id"`
	Data json.RawMessage `json:"data"`
}

func (cl *client) send(s string) {
	cl.tb.Helper()
	ctx, cancel := context.WithTimeout(cl.tb.Context(), 5*time.Second)
	defer cancel()
	if err := cl.c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		cl.tb.Fatalf("Write: %v", err)
	}
}

func (cl *client) read() frame {
	cl.tb.Helper()
	ctx, cancel := context.WithTimeout(cl.tb.Context(), 5*time.Second)
	defer cancel()
	_, b, err := cl.c.Read(ctx)
	if err != nil {
		cl.tb.Fatalf("Read: %v", err)
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		cl.tb.Fatalf("Read: %q: %v", b, err)
	}
	return f
}

// expect reads the next frame and compares it with typ, id and data (as JSON).
func (cl *client) expect(typ, id, data string) {
	cl.tb.Helper()
	f := cl.read()
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

func (cl *client) expectError(code, id string) {
	cl.tb.Helper()
	f := cl.read()
	var e gateway.Error
	_ = json.Unmarshal(f.Data, &e)
	if f.Type != "error" || e.Code != code || string(f.ID) != id {
		cl.tb.Fatalf("frame = %s id %s %s, want error %s id %s", f.Type, f.ID, f.Data, code, id)
	}
}

func (cl *client) json() string {
	b, _ := json.Marshal(cl.member)
	return string(b)
}

func TestRooms(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.connect(t, "brave-otter"), e.connect(t, "calm-heron")

	alice.send(`{"type":"room.join","id":1,"data":{"room":"t1"}}`)
	alice.expect("room.joined", "1", `{"room":"t1","members":[`+alice.json()+`]}`)
	bob.send(`{"type":"room.join","id":2,"data":{"room":"t1"}}`)
	bob.expect("room.joined", "2", `{"room":"t1","members":[`+alice.json()+`,`+bob.json()+`]}`)
	alice.expect("room.member_joined", "", `{"room":"t1","member":`+bob.json()+`}`)

	// Joining twice is harmless: the members again, no event for others.
	bob.send(`{"type":"room.join","id":3,"data":{"room":"t1"}}`)
	bob.expect("room.joined", "3", `{"room":"t1","members":[`+alice.json()+`,`+bob.json()+`]}`)

	alice.send(`{"type":"room.say","id":"s","data":{"room":"t1","text":"hello"}}`)
	msg := `{"room":"t1","from":` + alice.json() + `,"text":"hello"}`
	alice.expect("room.message", `"s"`, msg)
	bob.expect("room.message", "", msg)

	// game.* is relayed to the others with the server's from, never the client's.
	bob.send(`{"type":"game.play","id":4,"data":{"room":"t1","cards":["3D"],"from":{"player_id":"spoofed","username":"admin"}}}`)
	alice.expect("game.play", "", `{"room":"t1","cards":["3D"],"from":`+bob.json()+`}`)

	bob.send(`{"type":"room.list","id":5}`)
	bob.expect("room.list", "5", `{"rooms":[{"room":"t1","members":2}],"total":1}`)

	bob.send(`{"type":"room.leave","id":6,"data":{"room":"t1"}}`)
	bob.expect("room.left", "6", `{"room":"t1"}`)
	alice.expect("room.member_left", "", `{"room":"t1","member":`+bob.json()+`}`)

	// Disconnect leaves every room.
	bob.send(`{"type":"room.join","data":{"room":"t1"}}`)
	bob.read()
	alice.read() // member_joined
	bob.send(`{"type":"room.join","data":{"room":"t2"}}`)
	bob.read()
	bob.c.Close(websocket.StatusNormalClosure, "")
	alice.expect("room.member_left", "", `{"room":"t1","member":`+bob.json()+`}`)
	alice.send(`{"type":"room.list","id":7}`)
	alice.expect("room.list", "7", `{"rooms":[{"room":"t1","members":1}],"total":1}`)
}

func TestRoomErrors(t *testing.T) {
	e := newEnv(t)
	c := e.connect(t, "brave-otter")
	tests := []struct{ frame, code string }{
		{`{"type":"room.join","id":1,"data":{"room":""}}`, "bad_room"},
		{`{"type":"room.join","id":1,"data":{"room":"has space"}}`, "bad_room"},
		{`{"type":"room.join","id":1,"data":{"room":"` + strings.Repeat("a", 65) + `"}}`, "bad_room"},
		{`{"type":"room.join","id":1,"data":"lobby"}`, "bad_request"},
		{`{"type":"room.join","id":1}`, "bad_request"},
		{`{"type":"room.join","id":1,"data":{"ROOM":"lobby"}}`, "bad_room"}, // names match exactly, as in game.*
		{`{"type":"room.join","id":1,"data":{"room":5}}`, "bad_room"},
		{`{"type":"room.say","id":1,"data":{"ROOM":"lobby","text":"hi"}}`, "bad_room"},
		{`{"type":"room.say","id":1,"data":{"room":"lobby","TEXT":"hi"}}`, "bad_request"},
		{`{"type":"game.play","id":1,"data":{"ROOM":"lobby"}}`, "bad_room"},
		{`{"type":"room.leave","id":1,"data":{"room":"lobby"}}`, "not_in_room"},
		{`{"type":"room.say","id":1,"data":{"room":"lobby","text":"hi"}}`, "not_in_room"},
		{`{"type":"room.say","id":1,"data":{"room":"lobby"}}`, "bad_request"},
		{`{"type":"game.play","id":1,"data":{"room":"lobby"}}`, "not_in_room"},
		{`{"type":"game.play","id":1,"data":{"room":"no/slash"}}`, "bad_room"},
		{`{"type":"game.play","id":1,"data":[1]}`, "bad_request"},
		{`{"type":"room.dance","id":1}`, "unknown_type"},
	}
	for _, tt := range tests {
		c.send(tt.frame)
		c.expectError(tt.code, "1")
	}
	c.send(`{"type":"room.join","id":2,"data":{"room":"` + strings.Repeat("a", 64) + `"}}`)
	if f := c.read(); f.Type != "room.joined" {
		t.Fatalf("64-character room: %s %s", f.Type, f.Data)
	}
}

// TestRoomLimits: rooms per socket, members per room and rooms in all are
// capped, each refusal an error frame that leaves the socket open; room.list
// shows the first rooms by name and the total.
func TestRoomLimits(t *testing.T) {
	e := newEnvLimits(t, room.Limits{RoomsPerConn: 2, MembersPerRoom: 2, Rooms: 3, ListRooms: 2})
	a, b, c := e.connect(t, "a"), e.connect(t, "b"), e.connect(t, "c")
	join := func(cl *client, name string) {
		t.Helper()
		cl.send(`{"type":"room.join","id":1,"data":{"room":"` + name + `"}}`)
	}
	join(a, "r1")
	a.read()
	join(a, "r2")
	a.read()
	join(a, "r3")
	a.expectError("too_many_rooms", "1")
	join(a, "r1") // joining again is not a new room
	a.read()

	join(b, "r1")
	b.read()
	a.read() // member_joined
	join(c, "r1")
	c.expectError("room_full", "1")

	join(c, "r3")
	c.read()
	join(c, "r4")
	c.expectError("room_limit_reached", "1")

	c.send(`{"type":"room.list","id":2}`)
	c.expect("room.list", "2", `{"rooms":[{"room":"r1","members":2},{"room":"r2","members":1}],"total":3}`)

	// Room is made when one leaves.
	c.send(`{"type":"room.leave","id":3,"data":{"room":"r3"}}`)
	c.read()
	join(c, "r4")
	c.expect("room.joined", "1", `{"room":"r4","members":[`+c.json()+`]}`)
}

// BenchmarkFanOut measures a game frame relayed to the three other members
// of a four-player table, end to end over real sockets.
func BenchmarkFanOut(b *testing.B) {
	e := newEnv(b)
	var table []*client
	for i := range 4 {
		cl := e.connect(b, fmt.Sprintf("player-%d", i))
		cl.send(`{"type":"room.join","data":{"room":"table"}}`)
		table = append(table, cl)
	}
	for i, cl := range table { // drain joined and member_joined events
		for range 4 - i {
			cl.read()
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		table[0].send(`{"type":"game.play","data":{"room":"table","cards":["3D","3C"]}}`)
		for _, cl := range table[1:] {
			if f := cl.read(); f.Type != "game.play" {
				b.Fatalf("frame = %s", f.Type)
			}
		}
	}
}
