package room

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/session"
	"github.com/google/uuid"
	"github.com/rs/zerolog"
)

// nopSink is a socket that takes every frame and keeps none.
type nopSink struct {
	id  uint64
	who session.Identity
}

func (f *nopSink) ID() uint64                                 { return f.id }
func (f *nopSink) Identity() session.Identity                 { return f.who }
func (f *nopSink) ClientIP() string                           { return "192.0.2.1" }
func (f *nopSink) Send(gateway.Message) error                 { return nil }
func (f *nopSink) SendPrepared(gateway.PreparedMessage) error { return nil }
func (f *nopSink) Reply(gateway.Message) error                { return nil }

// benchKind routes "b.*" frames to the room named by the frame's data as
// it is (no decoding); b.join joins, any other frame gets one reply.
func benchKind() *Kind {
	return &Kind{
		Name:   "bench",
		Prefix: "b.",
		Route: func(m gateway.Message) (Target, error) {
			return Target{Room: string(m.Data), Create: true}, nil
		},
		New: func(string) Handler { return benchRoom{} },
	}
}

type benchRoom struct{}

var pong = gateway.Message{Type: "b.pong", Data: json.RawMessage(`{}`)}

func (benchRoom) Message(r *Context, s Socket, m gateway.Message) error {
	if m.Type == "b.join" {
		_, err := r.Join(s)
		return err
	}
	r.Reply(pong)
	return nil
}

func (benchRoom) Leave(*Context, Player, Reason) {}

var nextSink atomic.Uint64

func newSinks(n int) []*nopSink {
	s := make([]*nopSink, n)
	for i := range s {
		s[i] = &nopSink{id: nextSink.Add(1), who: session.Identity{PlayerID: uuid.New(), SessionID: uuid.New(), Username: "brave-otter"}}
	}
	return s
}

// liveHeap is the heap in use once the runtime's room loops have ended.
func liveHeap(rt *Runtime) uint64 {
	rt.loops.Wait()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkRoomMemory measures the live heap the runtime keeps per open
// socket (B/socket), per idle room (B/room, its members apart) and per
// member (B/member), over 1000 rooms, and checks that idle rooms own no
// goroutine. An op is the whole measurement: its ns/op means little.
func BenchmarkRoomMemory(b *testing.B) {
	for _, members := range []int{2, 10} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			const rooms = 1000
			var perSocket, perRoom, perMember float64
			for b.Loop() {
				rt := New(zerolog.Nop(), Options{RoomsPerAddress: 1 << 30}, benchKind())
				sinks := newSinks(rooms * members)
				names := make([]json.RawMessage, rooms)
				for i := range names {
					names[i] = json.RawMessage(fmt.Sprintf("room-%d", i))
				}
				join := func(r, m int) {
					if err := rt.message(sinks[r*members+m].id, gateway.Message{Type: "b.join", Data: names[r]}); err != nil {
						b.Fatal(err)
					}
				}
				goroutines := runtime.NumGoroutine()
				h0 := liveHeap(rt)
				for _, s := range sinks {
					rt.connect(s)
				}
				h1 := liveHeap(rt)
				for r := range rooms {
					join(r, 0)
				}
				h2 := liveHeap(rt)
				for r := range rooms {
					for m := 1; m < members; m++ {
						join(r, m)
					}
				}
				h3 := liveHeap(rt)
				if n := runtime.NumGoroutine() - goroutines; n > 0 {
					b.Fatalf("%d idle rooms own %d goroutines, want 0", rooms, n)
				}
				perSocket = float64(h1-h0) / float64(len(sinks))
				perMember = float64(h3-h2) / float64(rooms*(members-1))
				perRoom = float64(h2-h1)/rooms - perMember // the room itself, without its first member
				if err := rt.Shutdown(b.Context()); err != nil {
					b.Fatal(err)
				}
				runtime.KeepAlive(sinks)
			}
			b.ReportMetric(perSocket, "B/socket")
			b.ReportMetric(perRoom, "B/room")
			b.ReportMetric(perMember, "B/member")
		})
	}
}

// BenchmarkFrame compares a frame's trip through a room's order
// (Runtime.message: route, queue, the room's loop, the answer back) with
// calling the room's Handler directly.
func BenchmarkFrame(b *testing.B) {
	m := gateway.Message{Type: "b.ping", ID: json.RawMessage(`1`), Data: json.RawMessage(`lobby`)}
	setup := func(b *testing.B, sockets int) (*Runtime, []*nopSink) {
		rt := New(zerolog.Nop(), Options{}, benchKind())
		sinks := newSinks(sockets)
		for _, s := range sinks {
			rt.connect(s)
			if err := rt.message(s.id, gateway.Message{Type: "b.join", Data: m.Data}); err != nil {
				b.Fatal(err)
			}
		}
		b.Cleanup(func() { _ = rt.Shutdown(b.Context()) })
		return rt, sinks
	}
	b.Run("direct", func(b *testing.B) {
		rt, sinks := setup(b, 1)
		r := newRoom(rt, rt.kinds[0], "direct")
		h := benchRoom{}
		s := Socket{conn: sinks[0]}
		b.ReportAllocs()
		for b.Loop() {
			c := &r.ctx
			c.from, c.reqID, c.fromSet = s, m.ID, true
			if err := h.Message(c, s, m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("room", func(b *testing.B) {
		rt, sinks := setup(b, 1)
		b.ReportAllocs()
		for b.Loop() {
			if err := rt.message(sinks[0].id, m); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Three sockets per CPU, each on its own goroutine, send to one room
	// at once: ns/op is the room's throughput under contention.
	b.Run("room/contended", func(b *testing.B) {
		rt, sinks := setup(b, 3*runtime.GOMAXPROCS(0))
		var next atomic.Int32
		b.ReportAllocs()
		b.SetParallelism(3)
		b.RunParallel(func(pb *testing.PB) {
			s := sinks[int(next.Add(1)-1)%len(sinks)]
			for pb.Next() {
				if err := rt.message(s.id, m); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
