package room

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/session"
	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeSink is a socket as the runtime sees it: it records what it is sent.
type fakeSink struct {
	id  uint64
	who session.Identity
	mu  sync.Mutex
	got []string // "type" for a Send, "type id=<id>" for a Reply, "prepared" for a SendPrepared
}

func (f *fakeSink) ID() uint64                 { return f.id }
func (f *fakeSink) Identity() session.Identity { return f.who }
func (f *fakeSink) ClientIP() string           { return "192.0.2.1" }
func (f *fakeSink) Send(m gateway.Message) error {
	return f.record(m.Type)
}
func (f *fakeSink) SendPrepared(gateway.PreparedMessage) error { return f.record("prepared") }
func (f *fakeSink) Reply(m gateway.Message) error              { return f.record(m.Type + " id=" + string(m.ID)) }

func (f *fakeSink) record(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, s)
	return nil
}

// frames returns what the socket was sent since the last call.
func (f *fakeSink) frames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	got := f.got
	f.got = nil
	return got
}

// script is the code of the probe rooms. Every event is logged, with the
// time since the test began (a lock only because a test may have several
// rooms, each in its own order).
type script struct {
	start time.Time
	mu    sync.Mutex
	log   []string
	news  int           // rooms made
	grace time.Duration // t.hold's grace
	// quiet turns the log off, so that its lock does not order events
	// for the race detector (set it before the first frame).
	quiet bool
	// do is what a t.do frame does, if set; stop runs in Stop.
	do   func(r *Context, s Socket, m gateway.Message) error
	stop func(r *Context)
}

func (sc *script) logf(format string, args ...any) {
	if sc.quiet {
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.log = append(sc.log, fmt.Sprintf("%v ", time.Since(sc.start))+fmt.Sprintf(format, args...))
}

// take returns the log since the last call.
func (sc *script) take() []string {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	l := sc.log
	sc.log = nil
	return l
}

// probeRoom does what each frame's type says:
//
//	t.join     Join the socket
//	t.hold     Join it and Hold its player with script.grace
//	t.leave    LeaveSocket
//	t.release  Release the player
//	t.do       script.do
//
// and, on Return, sends t.resync to the returning socket.
type probeRoom struct{ sc *script }

func (p *probeRoom) Message(r *Context, s Socket, m gateway.Message) error {
	p.sc.logf("%s %s", m.Type, s.Player.Username)
	switch m.Type {
	case "t.join":
		_, err := r.Join(s)
		return err
	case "t.hold":
		if _, err := r.Join(s); err != nil {
			return err
		}
		return r.Hold(s.Player.ID, p.sc.grace)
	case "t.leave":
		r.LeaveSocket(s)
	case "t.release":
		r.Release(s.Player.ID)
	case "t.do":
		return p.sc.do(r, s, m)
	}
	return nil
}

func (p *probeRoom) Leave(r *Context, pl Player, why Reason) {
	p.sc.logf("leave %s %s", pl.Username, why)
}

func (p *probeRoom) Away(r *Context, pl Player) { p.sc.logf("away %s", pl.Username) }

func (p *probeRoom) Return(r *Context, s Socket) {
	p.sc.logf("return %s #%d in=%v", s.Player.Username, s.ID(), r.In(s))
	r.SendSocket(s, gateway.Message{Type: "t.resync"})
}

func (p *probeRoom) Stop(r *Context) {
	p.sc.logf("stop")
	if p.sc.stop != nil {
		p.sc.stop(r)
	}
}

// probeKind routes "t.*" frames to the room named by the frame's data (a
// JSON string), "r" without data; any frame makes the room.
func probeKind(sc *script) *Kind {
	return &Kind{
		Name:   "probe",
		Prefix: "t.",
		Route: func(m gateway.Message) (Target, error) {
			name := "r"
			if len(m.Data) > 0 {
				if err := json.Unmarshal(m.Data, &name); err != nil {
					return Target{}, gateway.Error{Code: "bad_request", Message: err.Error()}
				}
			}
			return Target{Room: name, Create: true}, nil
		},
		New: func(string) Handler {
			sc.news++
			return &probeRoom{sc}
		},
	}
}

// rig is a Runtime serving the probe kind to fake sockets.
type rig struct {
	t   *testing.T
	rt  *Runtime
	sc  *script
	ids uint64
}

func newRig(t *testing.T, opts Options) *rig {
	sc := &script{start: time.Now(), grace: time.Minute}
	g := &rig{t: t, sc: sc, rt: New(zerolog.Nop(), opts, probeKind(sc))}
	t.Cleanup(func() {
		if err := g.rt.Shutdown(context.WithoutCancel(t.Context())); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return g
}

// testPlayer is a player with their first session.
type testPlayer struct {
	id      uuid.UUID
	name    string
	session uuid.UUID
}

func newPlayer(name string) testPlayer {
	return testPlayer{id: uuid.New(), name: name, session: uuid.New()}
}

// tab connects a socket of p's first session.
func (g *rig) tab(p testPlayer) *fakeSink { return g.tabOf(p, p.session) }

// tabOf connects a socket of p's session sid.
func (g *rig) tabOf(p testPlayer, sid uuid.UUID) *fakeSink {
	g.ids++
	f := &fakeSink{id: g.ids, who: session.Identity{PlayerID: p.id, SessionID: sid, Username: p.name}}
	g.rt.connect(f)
	return f
}

// send hands the frame typ, with id 7, from f to the runtime, for room
// "r", and returns once the room has handled it.
func (g *rig) send(f *fakeSink, typ string) error {
	return g.rt.message(f.id, gateway.Message{Type: typ, ID: json.RawMessage(`7`)})
}

// sendTo is send for the room named room.
func (g *rig) sendTo(f *fakeSink, typ, room string) error {
	data, _ := json.Marshal(room)
	return g.rt.message(f.id, gateway.Message{Type: typ, ID: json.RawMessage(`7`), Data: data})
}

// must is send for frames that must succeed.
func (g *rig) must(f *fakeSink, typ string) {
	g.t.Helper()
	if err := g.send(f, typ); err != nil {
		g.t.Fatalf("%s: %v", typ, err)
	}
}

// expect compares the log since the last call with want.
func (g *rig) expect(want ...string) {
	g.t.Helper()
	if diff := cmp.Diff(want, g.sc.take()); diff != "" {
		g.t.Errorf("room events (-want +got):\n%s", diff)
	}
}

// member describes p as the room "r" sees it, from inside its order.
func (g *rig) member(f *fakeSink, p testPlayer) (m Member, ok bool) {
	g.t.Helper()
	prev := g.sc.do
	defer func() { g.sc.do = prev }()
	g.sc.do = func(r *Context, s Socket, _ gateway.Message) error {
		m, ok = r.MemberOf(p.id)
		return nil
	}
	g.must(f, "t.do")
	g.sc.take()
	return m, ok
}

func (g *rig) roomCount() int {
	g.rt.mu.Lock()
	defer g.rt.mu.Unlock()
	return len(g.rt.rooms)
}

func TestReasonOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Reason
	}{
		{"revoked", closeErr(4003), Revoked},
		{"revoked, wrapped", fmt.Errorf("read: %w", closeErr(4003)), Revoked},
		{"drain", closeErr(1001), Dropped},
		{"normal close", closeErr(1000), Dropped},
		{"no close frame", fmt.Errorf("read: %w", io.EOF), Dropped},
		{"nil", nil, Dropped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reasonOf(tt.err); got != tt.want {
				t.Errorf("reasonOf(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestReasonString(t *testing.T) {
	for r, want := range map[Reason]string{Left: "left", Dropped: "dropped", Revoked: "revoked", 9: "Reason(9)"} {
		if got := r.String(); got != want {
			t.Errorf("Reason(%d).String() = %q, want %q", int(r), got, want)
		}
	}
}

func TestNewPanicsOnBadKinds(t *testing.T) {
	ok := &Kind{Name: "a", Prefix: "a.", Route: func(gateway.Message) (Target, error) { return Target{}, nil }, New: func(string) Handler { return nil }}
	tests := []struct {
		name  string
		kinds []*Kind
	}{
		{"no route", []*Kind{{Name: "b", Prefix: "b.", New: ok.New}}},
		{"no new", []*Kind{{Name: "b", Prefix: "b.", Route: ok.Route}}},
		{"prefix without a dot", []*Kind{{Name: "b", Prefix: "b", Route: ok.Route, New: ok.New}}},
		{"shared prefix", []*Kind{ok, {Name: "b", Prefix: "a.", Route: ok.Route, New: ok.New}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("New did not panic")
				}
			}()
			New(zerolog.Nop(), Options{}, tt.kinds...)
		})
	}
}

// closeErr is a close error as the gateway reports it.
func closeErr(code websocket.StatusCode) error { return websocket.CloseError{Code: code} }
