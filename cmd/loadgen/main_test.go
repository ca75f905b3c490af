package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeGateway speaks the parts of the contract loadgen uses: POST /session,
// GET /ws with a Bearer token, welcome, ping -> pong, room.join ->
// room.joined, room.relay to the other members, /metrics.
type fakeGateway struct {
	srv   *httptest.Server
	next  atomic.Int64
	open  atomic.Int64 // sockets
	wg    sync.WaitGroup
	mu    sync.Mutex
	rooms map[string][]*websocket.Conn
	// refuseReconnects, when set, refuses a token's second and later
	// sockets by its number: 4, 8, ... with HTTP 503 too_many_pending,
	// 2, 6, ... with close 1013 store unavailable; odd ones are let in.
	refuseReconnects bool
	upgrades         map[string]int // by token
	via              map[string]int // upgrades by where the token was: header, query, subprotocol, frame
}

func newFakeGateway(t *testing.T) *fakeGateway {
	t.Helper()
	g := &fakeGateway{rooms: make(map[string][]*websocket.Conn), upgrades: make(map[string]int), via: make(map[string]int)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /session", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"token":"tok-%d"}`, g.next.Add(1))
	})
	mux.HandleFunc("POST /session/refresh", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"token":"tok-%d","refresh_token":"r"}`, g.next.Add(1))
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		// 1 KiB of RSS per session and 16 per socket, of which 8 of heap
		// and 4 of stacks; a GC cycle per session.
		n, open := g.next.Load(), g.open.Load()
		fmt.Fprintf(w, "process_resident_memory_bytes %d\ngo_goroutines %d\ngo_memstats_heap_inuse_bytes %d\ngo_memstats_stack_inuse_bytes %d\ngo_gc_duration_seconds_count %d\n",
			1<<20+n*1024+open*16*1024, 3+open, 1<<19+open*8*1024, 1<<16+open*4*1024, n)
	})
	mux.HandleFunc("GET /ws", g.ws)
	g.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		g.srv.Close()
		g.wg.Wait()
	})
	return g
}

// handshakeToken finds the token's number (tok-<n>) in the handshake as
// the gateway would (header, then subprotocol, then query) and says where;
// none means first-frame authentication.
func handshakeToken(r *http.Request) (tok, via string) {
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer tok-"); ok {
		return t, "header"
	}
	for p := range strings.SplitSeq(r.Header.Get("Sec-WebSocket-Protocol"), ",") {
		if t, ok := strings.CutPrefix(strings.TrimSpace(p), "bearer.tok-"); ok {
			return t, "subprotocol"
		}
	}
	if t, ok := strings.CutPrefix(r.URL.Query().Get("token"), "tok-"); ok {
		return t, "query"
	}
	return "", "frame"
}

func (g *fakeGateway) ws(w http.ResponseWriter, r *http.Request) {
	tok, via := handshakeToken(r)
	g.mu.Lock()
	g.via[via]++
	g.upgrades[tok]++
	again := tok != "" && g.upgrades[tok] > 1 && g.refuseReconnects
	g.mu.Unlock()
	n, _ := strconv.Atoi(tok)
	if again && n%4 == 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"error":{"code":"too_many_pending","message":"too many unauthenticated sockets on this server, try again"}}`)
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"bigtwo.v1"}})
	if err != nil {
		return
	}
	if again && n%2 == 0 {
		_ = c.Close(websocket.StatusTryAgainLater, "store unavailable")
		return
	}
	if via == "frame" { // the first frame must be auth with a token
		_, b, err := c.Read(r.Context())
		var f struct {
			Type string
			Data struct{ Token string }
		}
		if err != nil || json.Unmarshal(b, &f) != nil || f.Type != "auth" || !strings.HasPrefix(f.Data.Token, "tok-") {
			_ = c.Close(4001, "first frame must be auth")
			return
		}
	}
	ctx := r.Context()
	g.open.Add(1)
	g.wg.Go(func() {
		defer g.open.Add(-1)
		defer c.CloseNow()
		ctx := context.WithoutCancel(ctx)
		if c.Write(ctx, websocket.MessageText, []byte(`{"type":"welcome","data":{}}`)) != nil {
			return
		}
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			var f frame
			if json.Unmarshal(b, &f) != nil {
				continue
			}
			switch {
			case f.Type == "ping":
				_ = c.Write(ctx, websocket.MessageText, fmt.Appendf(nil, `{"type":"pong","id":%s}`, f.ID))
			case f.Type == "auth.refresh":
				_ = c.Write(ctx, websocket.MessageText, fmt.Appendf(nil, `{"type":"auth.refreshed","id":%s}`, f.ID))
			case f.Type == "room.join":
				var d struct{ Room string }
				_ = json.Unmarshal(f.Data, &d)
				g.mu.Lock()
				g.rooms[d.Room] = append(g.rooms[d.Room], c)
				g.mu.Unlock()
				_ = c.Write(ctx, websocket.MessageText, fmt.Appendf(nil, `{"type":"room.joined","data":{"room":%q}}`, d.Room))
			case f.Type == "room.relay":
				var d struct{ Room string }
				_ = json.Unmarshal(f.Data, &d)
				g.mu.Lock()
				members := append([]*websocket.Conn(nil), g.rooms[d.Room]...)
				g.mu.Unlock()
				for _, m := range members {
					if m != c {
						_ = m.Write(ctx, websocket.MessageText, fmt.Appendf(nil, `{"type":%q,"data":%s}`, f.Type, f.Data))
					}
				}
			}
		}
	})
}

// runJSON runs loadgen with -json and decodes the summary.
func runJSON(t *testing.T, args ...string) summary {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), append([]string{"loadgen"}, append(args, "-json")...), &stdout, &stderr); err != nil {
		t.Fatalf("run %q: %v\nstderr:\n%s", args, err, stderr.String())
	}
	var s summary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("run %q: summary is not JSON: %v\n%s", args, err, stdout.String())
	}
	return s
}

func TestRunModes(t *testing.T) {
	g := newFakeGateway(t)
	t.Run("sessions", func(t *testing.T) {
		s := runJSON(t, "sessions", "-url", g.srv.URL, "-n", "40", "-c", "4")
		if s.Sessions == nil || s.Sessions.Count != 40 || s.Sessions.Errors != 0 {
			t.Errorf("sessions = %+v, want 40 ok and no error", s.Sessions)
		}
	})
	t.Run("connect", func(t *testing.T) {
		s := runJSON(t, "connect", "-url", g.srv.URL, "-n", "20", "-c", "4", "-duration", "10ms")
		if s.Connect == nil || s.Connect.Count != 20 || s.Hold == nil || s.Hold.Count != 20 {
			t.Fatalf("connect = %+v, hold = %+v, want 20 open and held", s.Connect, s.Hold)
		}
		if s.Memory == nil || s.Memory.Source != "metrics" || s.Memory.Before == 0 {
			t.Errorf("memory = %+v, want figures from /metrics", s.Memory)
		}
		checkCPU(t, s, []string{"sessions", "connect", "hold"}, map[string]int64{"sessions": 20, "connect": 20, "hold": 20})
	})
	t.Run("connect auth paths", func(t *testing.T) {
		for _, via := range []string{"header", "subprotocol", "query", "frame"} {
			g := newFakeGateway(t)
			s := runJSON(t, "connect", "-url", g.srv.URL, "-n", "6", "-c", "2", "-duration", "10ms", "-auth", via)
			if s.Connect == nil || s.Connect.Count != 6 || s.Connect.Errors != 0 {
				t.Errorf("-auth %s: connect = %+v, want 6 ok", via, s.Connect)
			}
			g.mu.Lock()
			if g.via[via] != 6 || len(g.via) != 1 {
				t.Errorf("-auth %s: upgrades by path = %v, want 6 %s", via, g.via, via)
			}
			g.mu.Unlock()
		}
	})
	t.Run("connect hold sampled", func(t *testing.T) {
		g := newFakeGateway(t) // its own: no socket of another subtest is still closing
		s := runJSON(t, "connect", "-url", g.srv.URL, "-n", "20", "-duration", "2s", "-sample", "1s")
		m := s.Memory
		if m == nil || m.EndAfter != "hold" {
			t.Fatalf("memory = %+v, want figures after the hold", m)
		}
		var labels []string
		for _, sm := range m.Samples {
			labels = append(labels, sm.Label)
			if sm.Open != 20 || sm.RSS == 0 || sm.PerSocket != 16 || sm.HeapPerSocket != 8 || sm.StackPerSocket != 4 || sm.GCs == 0 || sm.Goroutines != 23 {
				t.Errorf("sample %+v: want 20 open, RSS, heap and stacks per socket 16, 8 and 4 KiB, 23 goroutines and GC cycles", sm)
			}
		}
		if diff := cmp.Diff([]string{"connected", "+1s", "after hold"}, labels); diff != "" {
			t.Errorf("memory samples mismatch (-want +got):\n%s", diff)
		}
		if n := len(m.Samples); n > 0 && (m.Samples[0].RSS != m.Connected || m.Samples[n-1].RSS != m.End) {
			t.Errorf("samples %+v: want the first at connected (%d), the last at end (%d)", m.Samples, m.Connected, m.End)
		}
		checkCPU(t, s, []string{"sessions", "connect", "hold"}, map[string]int64{"hold": 20})
		var text bytes.Buffer
		s.writeText(&text)
		for _, want := range []string{
			`1\.3 MiB after hold; per socket 16\.0 KiB connected, 16\.0 KiB after hold`,
			`\n +connected +[0-9.]+ +20 +1\.3 +16\.0 +8\.0 +4\.0 +23 +\d+\n`,
			`\n +\+1s +[0-9.]+ +20 +1\.3 +16\.0 `,
			`\n +after hold +[0-9.]+ +20 +1\.3 +16\.0 `,
			`\n +hold +[0-9.]+ +20 socket held +[0-9.]+ `,
		} {
			if !regexp.MustCompile(want).MatchString(text.String()) {
				t.Errorf("text summary does not match %q:\n%s", want, text.String())
			}
		}
	})
	t.Run("connect burst", func(t *testing.T) {
		g := newFakeGateway(t) // its own: tokens tok-1 ... tok-20 in socket order (-c 1)
		g.refuseReconnects = true
		s := runJSON(t, "connect", "-url", g.srv.URL, "-n", "20", "-c", "1", "-duration", "10ms", "-burst", "8")
		b := s.Burst
		if b == nil || b.Reconnect == nil {
			t.Fatalf("burst = %+v, want burst figures", b)
		}
		// Sockets 0-7 (tok-1 ... tok-8) were closed; 1, 3, 5, 7 came back.
		want := map[string]int64{"http 503 too_many_pending": 2, "close 1013 store unavailable": 2}
		if b.Sockets != 8 || b.CloseErrors != 0 || b.Reconnect.Count != 4 || b.Reconnect.Errors != 4 || b.StoreTimeouts != 2 {
			t.Errorf("burst = %+v, reconnect %+v: want 8 closed, 4 back, 4 refused of which 2 store timeouts", b, b.Reconnect)
		}
		if diff := cmp.Diff(want, b.Reconnect.ErrorKinds); diff != "" {
			t.Errorf("reconnect failures mismatch (-want +got):\n%s", diff)
		}
		if s.Hold == nil || s.Hold.Count != 16 || s.Hold.Errors != 0 {
			t.Errorf("hold = %+v, want 16 open at the end and none dropped (the closed ones are not drops)", s.Hold)
		}
		checkCPU(t, s, []string{"sessions", "connect", "close", "reconnect", "hold"}, map[string]int64{"close": 8, "reconnect": 4, "hold": 16})
		var text bytes.Buffer
		s.writeText(&text)
		for _, want := range []string{
			`\nburst     8 sockets closed at \+[0-9.]+s in [0-9.]+s \(0 close errors\), dialed again over 1s: 4 back, all answered [0-9.]+s after the first dial, 2 store timeouts\n`,
			`\nreconnect        4 ok      4 errors .* latency ms p50 [0-9.]+ p90 [0-9.]+ p99 [0-9.]+ max [0-9.]+\n +2 × close 1013 store unavailable\n +2 × http 503 too_many_pending\n`,
			`\n +reconnect +[0-9.]+ +4 reconnect +[0-9.]+ `,
		} {
			if !regexp.MustCompile(want).MatchString(text.String()) {
				t.Errorf("text summary does not match %q:\n%s", want, text.String())
			}
		}
	})
	t.Run("ping", func(t *testing.T) {
		s := runJSON(t, "ping", "-url", g.srv.URL, "-n", "10", "-rate", "200", "-duration", "200ms")
		if s.Ping == nil || s.Ping.Sent == 0 || s.Ping.Count != s.Ping.Sent || s.Ping.Lost != 0 {
			t.Fatalf("ping = %+v, want every ping answered", s.Ping)
		}
		checkCPU(t, s, []string{"sessions", "connect", "ping"}, map[string]int64{"connect": 10, "ping": s.Ping.Count})
	})
	t.Run("rooms", func(t *testing.T) {
		s := runJSON(t, "rooms", "-url", g.srv.URL, "-tables", "3", "-rate", "20", "-duration", "200ms")
		if s.Join == nil || s.Join.Count != 12 {
			t.Fatalf("join = %+v, want 12 seated", s.Join)
		}
		d := s.Delivery
		if d == nil || d.Sent == 0 || d.Count != 3*d.Sent || d.Lost != 0 {
			t.Fatalf("delivery = %+v, want 3 deliveries per frame sent", d)
		}
		checkCPU(t, s, []string{"sessions", "connect", "join", "relay"}, map[string]int64{"join": 12, "relay": d.Sent})
	})
}

// checkCPU checks that s has a CPU figure for each phase in order, the
// target's and the tool's, with the given operation counts. The fake
// gateway runs in the test's process, so the load tool finds its own pid
// listening on the port.
func checkCPU(t *testing.T, s summary, phases []string, ops map[string]int64) {
	t.Helper()
	c := s.CPU
	if c == nil {
		t.Fatalf("no cpu figures; notes %q", s.Notes)
	}
	if c.ServerPID != os.Getpid() || c.ToolPID != os.Getpid() || !strings.HasPrefix(c.ServerPIDFrom, "listening on port ") {
		t.Errorf("cpu server pid %d (%s), tool pid %d, want both %d, found listening", c.ServerPID, c.ServerPIDFrom, c.ToolPID, os.Getpid())
	}
	var names []string
	for _, p := range c.Phases {
		names = append(names, p.Name)
		if p.Server == nil || p.Tool == nil || p.Seconds <= 0 {
			t.Errorf("cpu phase %+v: want server and tool figures over a positive time", p)
		}
		if want, ok := ops[p.Name]; ok && p.Ops != want {
			t.Errorf("cpu phase %s: ops = %d, want %d", p.Name, p.Ops, want)
		}
	}
	if diff := cmp.Diff(phases, names); diff != "" {
		t.Errorf("cpu phases mismatch (-want +got):\n%s", diff)
	}
	if !slices.ContainsFunc(s.Notes, func(n string) bool { return strings.Contains(n, "load tool's own process") }) {
		t.Errorf("notes = %q, want one saying the target is the tool's own process", s.Notes)
	}
}

func TestRunChurn(t *testing.T) {
	g := newFakeGateway(t)
	s := runJSON(t, "churn", "-url", g.srv.URL, "-min", "3", "-n", "6", "-duration", "1500ms")
	if s.Churn == nil || s.Sessions == nil || s.Sessions.Count < 3 || s.Connect == nil || s.Connect.Count < 3 || s.Join == nil || s.Join.Count < 3 {
		t.Fatalf("churn = %+v, sessions %+v, connect %+v, join %+v: want at least the 3 first clients in", s.Churn, s.Sessions, s.Connect, s.Join)
	}
	if len(s.Churn.Refusals) != 0 || s.Churn.StoreTimeouts != 0 || s.Churn.PeakSockets < 3 {
		t.Errorf("churn = %+v, want no refusal and at least 3 sockets at once", s.Churn)
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no mode", []string{"loadgen"}, "help requested"},
		{"unknown mode", []string{"loadgen", "storm"}, `unknown mode "storm"`},
		{"bad url", []string{"loadgen", "connect", "-url", "localhost:8080"}, "-url"},
		{"bad n", []string{"loadgen", "ping", "-n", "0"}, "-n"},
		{"extra args", []string{"loadgen", "sessions", "x"}, "unexpected arguments"},
		{"churn min over n", []string{"loadgen", "churn", "-n", "10", "-min", "20"}, "-min"},
		{"burst outside a hold", []string{"loadgen", "ping", "-burst", "10"}, "-burst: only for connect and baseline"},
		{"negative burst", []string{"loadgen", "connect", "-burst", "-1"}, "-burst"},
		{"negative sample", []string{"loadgen", "connect", "-sample", "-1s"}, "-sample"},
		{"unknown auth", []string{"loadgen", "connect", "-auth", "cookie"}, "-auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(t.Context(), tt.args, &out, &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}
