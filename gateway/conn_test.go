package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"
)

func TestErrorFrames(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{})
	tok, _ := g.token(t, time.Hour)
	c := g.dialWelcomed(t, tok)
	tests := []struct {
		name, frame, code, id string
	}{
		{"not json", `hello`, "bad_request", ""},
		{"not an object", `[1,2]`, "bad_request", ""},
		{"no type", `{"id":1}`, "bad_request", ""},
		{"type not a string", `{"type":5}`, "bad_request", ""},
		{"id an object", `{"type":"ping","id":{}}`, "bad_request", ""},
		{"unknown type", `{"type":"lobby.dance","id":"u"}`, "unknown_type", `"u"`},
		{"handler error", `{"type":"room.fail","id":9}`, "not_in_room", "9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeJSON(t, c, tt.frame)
			wantError(t, c, tt.code, tt.id)
		})
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageBinary, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	wantError(t, c, "bad_request", "")
	writeJSON(t, c, `{"type":"room.echo","id":[1],"data":{"a":[1,2]}}`)
	wantError(t, c, "bad_request", "")
	writeJSON(t, c, `{"type":"room.echo","id":-1.5,"data":{"a":[1,2]}}`)
	if f := readFrame(t, c); f.Type != "room.echoed" || string(f.ID) != "-1.5" || string(f.Data) != `{"a":[1,2]}` {
		t.Errorf("echo = %+v", f)
	}
	roundTrip(t, c) // the socket stayed open throughout
}

func TestFloodClosesWith4029(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{MessageRate: 5, MessageBurst: 10})
	tok, _ := g.token(t, time.Hour)
	c := g.dialWelcomed(t, tok)
	for i := range 30 {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err := c.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(`{"type":"ping","id":%d}`, i)))
		cancel()
		if err != nil {
			break // the server may already have closed
		}
	}
	if reason := wantClose(t, c, 4029); reason != "rate limit exceeded" {
		t.Errorf("reason = %q", reason)
	}
}

func TestRateLimitOff(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{MessageRate: rate.Inf, MessageBurst: 1})
	tok, _ := g.token(t, time.Hour)
	c := g.dialWelcomed(t, tok)
	for range 50 {
		writeJSON(t, c, `{"type":"ping"}`)
	}
	roundTrip(t, c)
}

func TestSlowConsumerClosesWith1013(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{SendQueue: 4})
	tok, _ := g.token(t, time.Hour)
	c := g.dialWelcomed(t, tok)
	// 4000 frames of 16 KiB: far more than the socket buffers hold, while
	// this client reads nothing.
	writeJSON(t, c, `{"type":"room.flood","data":{"n":4000,"size":16384}}`)
	wantSendOverflow(t, g)
	if reason := wantClose(t, c, 1013); reason != "slow consumer" {
		t.Errorf("reason = %q", reason)
	}
}

func TestOversizeClosesWith1009(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{MaxMessageBytes: 1024})
	tok, _ := g.token(t, time.Hour)
	c := g.dialWelcomed(t, tok)
	writeJSON(t, c, `{"type":"room.echo","data":"`+strings.Repeat("a", 900)+`"}`)
	waitFrame(t, c, "room.echoed")
	writeJSON(t, c, `{"type":"room.echo","data":"`+strings.Repeat("a", 2000)+`"}`)
	wantClose(t, c, 1009)

	// Before the welcome the limit is 8 KiB, whatever MaxMessageBytes says.
	g2 := newTestGateway(t, Options{MaxMessageBytes: 1 << 20})
	p, _, err := g2.dialOpts(t, g2.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	writeJSON(t, p, `{"type":"auth","data":{"token":"`+strings.Repeat("a", 9000)+`"}}`)
	wantClose(t, p, 1009)
}

func TestInvalidUTF8ClosesWith1007(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{})
	tok, _ := g.token(t, time.Hour)
	c := g.dialWelcomed(t, tok)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte("{\"type\":\"ping\",\"id\":\"\xff\xfe\"}")); err != nil {
		t.Fatal(err)
	}
	wantClose(t, c, 1007)
}

// A Handler that blocks does not stop heartbeats or pings of its socket:
// while it blocks, ping frames are answered and heartbeats come on time.
func TestSlowHandlerKeepsSocketResponsive(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		opts := Options{PingInterval: 25 * time.Second, PingTimeout: 10 * time.Second}
		b := newBubble(t, opts)
		tok, _ := b.auth.token(time.Hour)
		start := time.Now()
		r, _ := b.dialWelcomed(t, tok)
		r.writeText(t, `{"type":"room.block","id":"b"}`)
		r.writeText(t, `{"type":"room.echo","id":"queued"}`)
		r.roundTrip(t) // answered while the Handler is blocked
		// Those frames (at 0) were the peer speaking: the first heartbeat
		// waits until it has been silent for PingInterval, and the pongs
		// that follow are control frames, which do not count, so from then
		// on every heartbeat pings.
		due := opts.PingInterval
		for i := range 5 {
			op, p := r.readFrame(t)
			if got := time.Since(start); op != opPing || got != due {
				t.Fatalf("frame %d = op%d %q at %v while the Handler was blocked, want a ping at exactly %v", i, op, p, got, due)
			}
			r.write(t, clientFrame(opPong, string(p)))
			due += opts.PingInterval
		}
		close(b.h.release)
		// The blocked frame's answer, then the queued frame's.
		for _, want := range []string{`room.unblocked "b"`, `room.echoed "queued"`} {
			if f := r.readData(t); f.Type+" "+string(f.ID) != want {
				t.Errorf("frame = %s %s, want %s", f.Type, f.ID, want)
			}
		}
	})
}

func TestDisconnectAfterPeerClose(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{})
	tok, _ := g.token(t, time.Hour)
	c := g.dialWelcomed(t, tok)
	if got := g.srv.Sockets(); got != 1 {
		t.Errorf("Sockets() = %d, want 1", got)
	}
	c.Close(websocket.StatusNormalClosure, "bye")
	if err := <-g.h.disconnected; websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("Disconnect reason = %v, want close 1000", err)
	}
	if got := g.srv.Sockets(); got != 0 {
		t.Errorf("Sockets() = %d after close, want 0", got)
	}
}

// wantSendOverflow waits for the test handler's Send to report a full queue.
func wantSendOverflow(t *testing.T, g *testGateway) {
	t.Helper()
	select {
	case err := <-g.h.sendErr:
		if !errors.Is(err, ErrSlowConsumer) {
			t.Fatalf("Send error = %v, want ErrSlowConsumer", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Send never reported a full queue")
	}
}
