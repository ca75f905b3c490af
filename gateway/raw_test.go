package gateway

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"
)

// Raw-frame tests: protocol abuse written byte by byte over net.Conn, for
// what a well-behaved client library would never send.

const (
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA
)

type rawConn struct {
	c  net.Conn
	br *bufio.Reader
}

// rawDial performs the upgrade with extra header lines and then writes
// tail in the same write as the request.
func rawDial(t *testing.T, g *testGateway, extra string, tail []byte) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", g.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req := "GET /ws HTTP/1.1\r\nHost: " + g.ts.Listener.Addr().String() + "\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" + extra + "\r\n"
	if _, err := c.Write(append([]byte(req), tail...)); err != nil {
		t.Fatal(err)
	}
	r := &rawConn{c: c, br: bufio.NewReader(c)}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade status = %d", resp.StatusCode)
	}
	return r
}

// frameBytes encodes one client frame; declared overrides the length field.
func frameBytes(fin bool, op byte, payload []byte, masked bool, declared uint64) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	var mbit byte
	if masked {
		mbit = 0x80
	}
	b := []byte{b0}
	switch {
	case declared < 126:
		b = append(b, mbit|byte(declared))
	case declared <= 0xFFFF:
		b = append(b, mbit|126)
		b = binary.BigEndian.AppendUint16(b, uint16(declared))
	default:
		b = append(b, mbit|127)
		b = binary.BigEndian.AppendUint64(b, declared)
	}
	p := append([]byte(nil), payload...)
	if masked {
		key := [4]byte{0x12, 0x34, 0x56, 0x78}
		b = append(b, key[:]...)
		for i := range p {
			p[i] ^= key[i%4]
		}
	}
	return append(b, p...)
}

func clientFrame(op byte, payload string) []byte {
	return frameBytes(true, op, []byte(payload), true, uint64(len(payload)))
}

func (r *rawConn) write(t *testing.T, b []byte) {
	t.Helper()
	if _, err := r.c.Write(b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// readFrame reads one server frame (servers never mask).
func (r *rawConn) readFrame(t *testing.T) (op byte, payload []byte) {
	t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var h [2]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		t.Fatalf("read frame header: %v", err)
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var l [2]byte
		_, _ = io.ReadFull(r.br, l[:])
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		_, _ = io.ReadFull(r.br, l[:])
		n = binary.BigEndian.Uint64(l[:])
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r.br, payload); err != nil {
		t.Fatalf("read frame payload: %v", err)
	}
	return h[0] & 0x0F, payload
}

// waitClose reads frames (answering nothing, pings included) until a close
// frame, and returns its code and reason and the data frames seen.
func (r *rawConn) waitClose(t *testing.T) (int, string, []string) {
	t.Helper()
	var seen []string
	for {
		op, p := r.readFrame(t)
		if op == opClose {
			code, reason := closePayload(p)
			return code, reason, seen
		}
		seen = append(seen, fmt.Sprintf("op%d:%s", op, p))
	}
}

// closePayload is the code and reason of a close frame's payload (1005 if
// it has none).
func closePayload(p []byte) (int, string) {
	if len(p) < 2 {
		return 1005, ""
	}
	return int(binary.BigEndian.Uint16(p)), string(p[2:])
}

func (r *rawConn) wantClose(t *testing.T, want int) {
	t.Helper()
	if code, reason, seen := r.waitClose(t); code != want {
		t.Fatalf("close = %d %q after %v, want %d", code, reason, seen, want)
	}
}

func TestRawFrames(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{MaxMessageBytes: 65536})
	tests := []struct {
		name     string
		authed   bool   // authenticate with a header and read the welcome first
		send     []byte // what the client writes next
		wantCode int
	}{
		{"fragmented ping", true, frameBytes(false, opPing, []byte("x"), true, 1), 1002},
		{"fragmented close", true, frameBytes(false, opClose, []byte{3, 232}, true, 2), 1002},
		{"oversized control frame", true, frameBytes(true, opPing, make([]byte, 200), true, 200), 1002},
		{"unmasked text frame", true, frameBytes(true, opText, []byte(`{"type":"ping"}`), false, 15), 1002},
		{"reserved opcode", true, frameBytes(true, 0x3, []byte("x"), true, 1), 1002},
		{"continuation without start", true, frameBytes(true, 0x0, []byte("x"), true, 1), 1002},
		{"negative declared length", true, frameBytes(true, opText, nil, true, 1<<63), 1002},
		{"huge declared length", true, append(frameBytes(false, opText, nil, true, 1<<40), make([]byte, 70000)...), 1009},
		{"huge declared length before auth", false, append(frameBytes(true, opText, nil, true, 1<<62), make([]byte, 9000)...), 1009},
		{"frame before auth", false, clientFrame(opText, `{"type":"room.join","data":{"room":"lobby"}}`), 4001},
		{"binary before auth", false, clientFrame(0x2, `{"type":"auth"}`), 4001},
		{"bad close code", true, clientFrame(opClose, "\x03\xed"), 1002}, // 1005 may not be sent
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			extra := ""
			if tt.authed {
				tok, _ := g.token(t, time.Hour)
				extra = "Authorization: Bearer " + tok + "\r\n"
			}
			r := rawDial(t, g, extra, nil)
			if tt.authed {
				if op, p := r.readFrame(t); op != opText || !strings.Contains(string(p), `"welcome"`) {
					t.Fatalf("first frame = op%d %s, want welcome", op, p)
				}
			}
			r.write(t, tt.send)
			r.wantClose(t, tt.wantCode)
		})
	}
}

// Frames written in the same packet as the upgrade request are not lost,
// and are processed after the welcome.
func TestRawFramesWithHandshake(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{})
	tok, _ := g.token(t, time.Hour)
	r := rawDial(t, g, "Authorization: Bearer "+tok+"\r\n", clientFrame(opText, `{"type":"ping","id":1}`))
	if _, p := r.readFrame(t); !strings.Contains(string(p), `"welcome"`) {
		t.Fatalf("first frame = %s, want welcome", p)
	}
	if _, p := r.readFrame(t); string(p) != `{"type":"pong","id":1}` {
		t.Fatalf("second frame = %s, want the pong", p)
	}
	// A ping control frame is answered with a pong carrying its payload.
	r.write(t, clientFrame(opPing, "hb"))
	if op, p := r.readFrame(t); op != opPong || string(p) != "hb" {
		t.Fatalf("frame = op%d %q, want pong hb", op, p)
	}
}

// TestMissedHeartbeat: heartbeats (ping control frames) come PingInterval
// apart, the first at firstHeartbeat; a peer that answers them stays, and
// one that misses one is closed with 1001 "missed heartbeat" exactly
// PingTimeout after that ping, not a nanosecond before.
func TestMissedHeartbeat(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		opts := Options{PingInterval: 25 * time.Second, PingTimeout: 10 * time.Second}
		b := newBubble(t, opts)
		tok, _ := b.auth.token(time.Hour)
		start := time.Now()
		r, c := b.dialWelcomed(t, tok)
		due := firstHeartbeat(opts.PingInterval, c.ID())
		for i := range 3 { // the first two are answered, the third is not
			op, p := r.readFrame(t)
			if got := time.Since(start); op != opPing || got != due {
				t.Fatalf("frame %d = op%d %q at %v, want a ping at exactly %v", i, op, p, got, due)
			}
			if i < 2 {
				r.write(t, clientFrame(opPong, string(p)))
				due += opts.PingInterval
			}
		}
		code, reason, seen := r.waitClose(t)
		if code != 1001 || reason != "missed heartbeat" || len(seen) != 0 {
			t.Fatalf("close = %d %q after %v, want 1001 missed heartbeat", code, reason, seen)
		}
		if got, want := time.Since(start), due+opts.PingTimeout; got != want {
			t.Errorf("1001 came at %v, want exactly %v (the unanswered ping + PingTimeout)", got, want)
		}
	})
}

// TestWriteTimeoutDropsPeer: a peer that stops reading is dropped exactly
// WriteTimeout after a frame's write began, even with room left in its
// send queue (so not as a slow consumer).
func TestWriteTimeoutDropsPeer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const writeTimeout = 3 * time.Second
		b := newBubble(t, Options{WriteTimeout: writeTimeout, SendQueue: 200})
		tok, _ := b.auth.token(time.Hour)
		r := b.dial(t, tok, 0) // every write waits for the peer to read it
		if f := r.readData(t); f.Type != "welcome" {
			t.Fatalf("first frame = %s %s, want welcome", f.Type, f.Data)
		}
		start := time.Now()
		r.writeText(t, `{"type":"room.flood","data":{"N":100,"Size":1024}}`) // and never read again
		if err := <-b.h.disconnected; err == nil {
			t.Errorf("Disconnect reason = nil, want the failed write")
		}
		if got := time.Since(start); got != writeTimeout {
			t.Errorf("peer dropped %v after the write began, want exactly WriteTimeout (%v)", got, writeTimeout)
		}
		select {
		case err := <-b.h.sendErr:
			t.Errorf("Send = %v, want room left in the send queue", err)
		default:
		}
	})
}

// TestResetIsAbnormalClosure: a client whose connection resets (a crash, a
// mobile network) dropped the socket; it broke no protocol. Its end counts
// as 1006, not 1002, and no close frame is attempted.
func TestResetIsAbnormalClosure(t *testing.T) {
	t.Parallel()
	g, reg := newMetricsGateway(t, Options{})
	for _, authed := range []bool{true, false} {
		extra := ""
		if authed {
			tok, _ := g.token(t, time.Hour)
			extra = "Authorization: Bearer " + tok + "\r\n"
		}
		r := rawDial(t, g, extra, nil)
		if authed {
			if _, p := r.readFrame(t); !strings.Contains(string(p), `"welcome"`) {
				t.Fatalf("first frame = %s, want welcome", p)
			}
		}
		// SO_LINGER 0: closing sends a RST instead of a FIN.
		if err := r.c.(*net.TCPConn).SetLinger(0); err != nil {
			t.Fatal(err)
		}
		r.c.Close()
		waitEnded(t, g)
	}
	wantMetric(t, reg, 2, "gateway_socket_closes_total", "code", "1006")
	wantMetric(t, reg, 0, "gateway_socket_closes_total", "code", "1002")
	wantMetric(t, reg, 1, "gateway_socket_opens_total", "path", "frame", "result", "client_closed")
}

// Frames larger than the socket's read and write buffers pass whole in
// both directions, at the default sizes and at tiny ones, and so do frames
// pipelined with the upgrade request (that socket reads through net/http's
// reader, which holds them).
func TestFramesLargerThanBuffers(t *testing.T) {
	t.Parallel()
	for _, opts := range []Options{{}, {ReadBufferSize: 16, WriteBufferSize: 16}} {
		for _, pipelined := range []int{0, 3} {
			t.Run(fmt.Sprintf("read%d_write%d_pipelined%d", opts.ReadBufferSize, opts.WriteBufferSize, pipelined), func(t *testing.T) {
				t.Parallel()
				g := newTestGateway(t, opts)
				tok, _ := g.token(t, time.Hour)
				sizes := []int{0, 15, 16, 17, 1000, 1023, 1024, 1025, 2047, 2048, 2049, 6000}
				echo := func(i int) []byte {
					return clientFrame(opText, fmt.Sprintf(`{"type":"room.echo","id":%d,"data":%q}`, i, strings.Repeat("e", sizes[i])))
				}
				var early []byte
				for i := range pipelined {
					early = append(early, echo(i)...)
				}
				r := rawDial(t, g, "Authorization: Bearer "+tok+"\r\n", early)
				if _, p := r.readFrame(t); !strings.Contains(string(p), `"welcome"`) {
					t.Fatalf("first frame = %.80s, want welcome", p)
				}
				for i, n := range sizes {
					if i >= pipelined {
						r.write(t, echo(i))
					}
					want := fmt.Sprintf(`{"type":"room.echoed","id":%d,"data":%q}`, i, strings.Repeat("e", n))
					if _, p := r.readFrame(t); string(p) != want {
						t.Fatalf("echo of %d bytes = %d bytes %.60q..., want %d bytes", n, len(p), p, len(want))
					}
				}
			})
		}
	}
}

// The buffers a socket keeps are the sizes Options give, not net/http's
// 4 KiB ones, unless the client pipelined bytes behind its request.
func TestHijackBufferSizes(t *testing.T) {
	t.Parallel()
	for _, early := range []string{"", "early"} {
		got := make(chan [2]int, 1)
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusSwitchingProtocols)
			hw := &hijackRecorder{ResponseWriter: w, readBuf: 512, writeBuf: 1024}
			nc, brw, err := hw.Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer nc.Close()
			got <- [2]int{brw.Reader.Size(), brw.Writer.Size()}
		}))
		c, err := net.Dial("tcp", ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + early)); err != nil {
			t.Fatal(err)
		}
		want := [2]int{512, 1024}
		if early != "" {
			want[0] = 4096 // net/http's reader holds the early bytes
		}
		if g := <-got; g != want {
			t.Errorf("early %q: buffer sizes = %v, want %v", early, g, want)
		}
		c.Close()
		ts.Close()
	}
}

// The reader reuses the buffer of a frame it answered itself (a ping) for
// the next frame, but never one handed to the Handler: a Handler's frames
// keep their bytes while pings stream in behind them.
func TestHandedFramesKeepTheirBytes(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, Options{MessageRate: rate.Inf, SendQueue: 1000})
	tok, _ := g.token(t, time.Hour)
	r := rawDial(t, g, "Authorization: Bearer "+tok+"\r\n", nil)
	if _, p := r.readFrame(t); !strings.Contains(string(p), `"welcome"`) {
		t.Fatalf("first frame = %.80s, want welcome", p)
	}
	const n = 200
	var burst []byte
	for i := range n {
		burst = append(burst, clientFrame(opText, fmt.Sprintf(`{"type":"room.echo","id":%d,"data":"echo-%04d"}`, i, i))...)
		burst = append(burst, clientFrame(opText, fmt.Sprintf(`{"type":"ping","id":%d,"data":"ping-%04d-xxxxxxxx"}`, i, i))...)
	}
	r.write(t, burst)
	echoes, pongs := 0, 0
	for echoes < n || pongs < n {
		_, p := r.readFrame(t)
		var f frame
		if err := json.Unmarshal(p, &f); err != nil {
			t.Fatalf("frame %q: %v", p, err)
		}
		var want string
		switch f.Type {
		case "room.echoed":
			want = fmt.Sprintf(`"echo-%04s"`, f.ID)
			echoes++
		case "pong":
			want = fmt.Sprintf(`"ping-%04s-xxxxxxxx"`, f.ID)
			pongs++
		default:
			t.Fatalf("unexpected frame %s", p)
		}
		if string(f.Data) != want {
			t.Fatalf("%s %s carries %s, want %s", f.Type, f.ID, f.Data, want)
		}
	}
}

// TestActivePeerIsNotPinged: a peer heard from less than PingInterval ago
// is alive, so the heartbeat waits; it pings once the peer has been silent
// for exactly PingInterval, and a missed ping still closes it exactly
// PingTimeout later: a half-open peer is released PingInterval +
// PingTimeout after its last frame.
func TestActivePeerIsNotPinged(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		opts := Options{PingInterval: 25 * time.Second, PingTimeout: 10 * time.Second}
		b := newBubble(t, opts)
		tok, _ := b.auth.token(time.Hour)
		start := time.Now()
		r, c := b.dialWelcomed(t, tok)
		first := firstHeartbeat(opts.PingInterval, c.ID())
		var spoke time.Duration
		for _, at := range []time.Duration{first / 2, first/2 + 20*time.Second} { // before the first heartbeat, then before the one it put off
			time.Sleep(at - time.Since(start))
			r.writeText(t, `{"type":"ping","id":1}`)
			spoke = time.Since(start)
			if op, p := r.readFrame(t); op != opText || string(p) != `{"type":"pong","id":1}` {
				t.Fatalf("frame = op%d %q, want the pong", op, p)
			}
		}
		due := spoke + opts.PingInterval
		op, p := r.readFrame(t)
		if got := time.Since(start); op != opPing || got != due {
			t.Fatalf("frame = op%d %q at %v, want a ping at exactly %v, PingInterval after the last frame", op, p, got, due)
		}
		code, reason, _ := r.waitClose(t)
		if got, want := time.Since(start), due+opts.PingTimeout; code != 1001 || reason != "missed heartbeat" || got != want {
			t.Errorf("close = %d %q at %v, want 1001 missed heartbeat at exactly %v", code, reason, got, want)
		}
	})
}
