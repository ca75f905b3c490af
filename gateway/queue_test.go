package gateway

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// A burst of pings within the message limit is answered in full, however
// small the send queue: the pongs answer the client's own frames, so a
// full queue holds the reader back instead of closing with 1013.
func TestPingBurstAnswered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts Options
	}{
		{"defaults", Options{}},
		{"queue of 2", Options{SendQueue: 2}},
		{"queue of 2 KiB", Options{SendQueueBytes: 2 << 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, tt.opts)
			tok, _ := g.token(t, time.Hour)
			c := g.dialWelcomed(t, tok)
			const n = 100 // the default burst
			var burst []byte
			for i := range n {
				burst = fmt.Appendf(burst[:0], `{"type":"ping","id":%d,"data":%q}`, i, strings.Repeat("p", 100))
				writeJSON(t, c, string(burst))
			}
			for i := range n {
				f := readFrame(t, c)
				if f.Type != "pong" || string(f.ID) != fmt.Sprint(i) {
					t.Fatalf("frame %d = %s id %s, want pong id %d", i, f.Type, f.ID, i)
				}
			}
			// All 100 arrived: a 1013 would have dropped the queued pongs.
		})
	}
}

// Pong echoes at most 1 KiB of ping data; more is a bad_request.
func TestPingDataLimit(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{})
	tok, _ := g.token(t, time.Hour)
	c := g.dialWelcomed(t, tok)
	data := `"` + strings.Repeat("d", maxPingData-2) + `"` // exactly 1 KiB of JSON
	writeJSON(t, c, `{"type":"ping","id":1,"data":`+data+`}`)
	if f := readFrame(t, c); f.Type != "pong" || string(f.ID) != "1" || string(f.Data) != data {
		t.Fatalf("frame = %s id %s (%d bytes of data), want the pong echo", f.Type, f.ID, len(f.Data))
	}
	writeJSON(t, c, `{"type":"ping","id":2,"data":"`+strings.Repeat("d", maxPingData)+`"}`)
	wantError(t, c, "bad_request", "2")
	roundTrip(t, c)
}

// The send queue is bounded in bytes too: a client that does not read is
// closed with 1013 once SendQueueBytes wait, long before SendQueue frames.
func TestSendQueueBytesLimit(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{SendQueue: 100000, SendQueueBytes: 64 << 10})
	tok, _ := g.token(t, time.Hour)
	c := g.dialWelcomed(t, tok)
	// 2000 frames of 16 KiB: more than loopback's buffers hold, far fewer
	// than SendQueue frames.
	writeJSON(t, c, `{"type":"room.flood","data":{"n":2000,"size":16384}}`)
	wantSendOverflow(t, g)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c.SetReadLimit(1 << 20)
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		if got := websocket.CloseStatus(err); got != websocket.StatusTryAgainLater {
			t.Fatalf("close = %v, want 1013", err)
		}
		return
	}
}
