package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// Timer-driven behaviour (auth timeout, expiry, heartbeats, write timeout)
// is tested in a testing/synctest bubble: the real Server over in-memory
// connections, so that every timer runs on the bubble's fake clock and
// time.Now() in the test says exactly when a frame arrived.

// kernelBuffer is how many writes a memConnPair holds for a peer that does
// not read, as a kernel's socket buffer would: enough for any test that
// does not mean to fill it.
const kernelBuffer = 4096

// bubble is a Server for a test inside synctest.Test: newBubble must be
// called from the bubble. Its cleanup closes every client, drains the
// Server and waits for every ServeHTTP call it started.
type bubble struct {
	srv    *Server
	auth   *fakeAuth
	h      *testHandler
	served sync.WaitGroup // the ServeHTTP calls of dial
}

func newBubble(t *testing.T, opts Options) *bubble {
	t.Helper()
	b := &bubble{auth: &fakeAuth{tokens: make(map[string]authResult)}, h: newTestHandler()}
	b.srv = NewServer(b.auth, b.h, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel), opts)
	t.Cleanup(func() { // runs after the clients' cleanups
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), time.Minute)
		defer cancel()
		if err := b.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		b.served.Wait()
	})
	return b
}

// dial serves one socket over a memConnPair(buffered), authenticated by an
// Authorization header with tok unless tok is empty (first-frame
// authentication then), and returns the client's end. The 101 response is
// not written: the client reads frames only.
func (b *bubble) dial(t *testing.T, tok string, buffered int) *rawConn {
	t.Helper()
	client, server := memConnPair(buffered)
	t.Cleanup(func() { client.Close() })
	req := httptest.NewRequest(http.MethodGet, "http://gateway/ws", nil)
	for k, v := range map[string]string{"Upgrade": "websocket", "Connection": "Upgrade",
		"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="} {
		req.Header.Set(k, v)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	b.served.Go(func() { b.srv.ServeHTTP(&hijackWriter{h: http.Header{}, conn: server}, req) })
	return &rawConn{c: client, br: bufio.NewReader(client)}
}

// dialWelcomed dials with tok and reads the welcome; it returns the client's
// end and the socket's Conn.
func (b *bubble) dialWelcomed(t *testing.T, tok string) (*rawConn, *Conn) {
	t.Helper()
	r := b.dial(t, tok, kernelBuffer)
	if f := r.readData(t); f.Type != "welcome" {
		t.Fatalf("first frame = %s %s, want welcome", f.Type, f.Data)
	}
	return r, <-b.h.connected
}

// writeText writes s as a masked text frame.
func (r *rawConn) writeText(t *testing.T, s string) {
	t.Helper()
	r.write(t, clientFrame(opText, s))
}

// nextAnswering reads server frames, answering each ping with its pong, and
// returns the first frame that is not a ping.
func (r *rawConn) nextAnswering(t *testing.T) (op byte, payload []byte) {
	t.Helper()
	for {
		op, payload = r.readFrame(t)
		if op != opPing {
			return op, payload
		}
		r.write(t, clientFrame(opPong, string(payload)))
	}
}

// readData reads the next data frame, answering pings on the way; a close
// frame fails the test.
func (r *rawConn) readData(t *testing.T) frame {
	t.Helper()
	op, p := r.nextAnswering(t)
	if op == opClose {
		t.Fatalf("close frame %q, want a data frame", p)
	}
	var f frame
	if err := json.Unmarshal(p, &f); err != nil {
		t.Fatalf("frame op%d %q is not JSON: %v", op, p, err)
	}
	return f
}

// waitCloseAnswering is waitClose for a client that answers heartbeats:
// it reads until the close frame, answering pings, and returns the close
// code and reason and the data frames on the way.
func (r *rawConn) waitCloseAnswering(t *testing.T) (int, string, []string) {
	t.Helper()
	var seen []string
	for {
		op, p := r.nextAnswering(t)
		if op == opClose {
			code, reason := closePayload(p)
			return code, reason, seen
		}
		seen = append(seen, string(p))
	}
}

// roundTrip checks the socket answers a ping frame (heartbeats answered).
func (r *rawConn) roundTrip(t *testing.T) {
	t.Helper()
	r.writeText(t, `{"type":"ping","id":"rt"}`)
	for {
		if f := r.readData(t); f.Type == "pong" && string(f.ID) == `"rt"` {
			return
		}
	}
}

// hijackWriter is the ResponseWriter of a request served without a real
// server: Hijack hands over conn (the 101 response is not written; the
// peer reads frames only).
type hijackWriter struct {
	h    http.Header
	conn net.Conn
}

func (w *hijackWriter) Header() http.Header         { return w.h }
func (w *hijackWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *hijackWriter) WriteHeader(int)             {}
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.conn, bufio.NewReadWriter(bufio.NewReader(w.conn), bufio.NewWriter(w.conn)), nil
}

// memConnPair returns the two ends of an in-memory connection whose writes
// do not block while fewer than buffered writes wait for the peer (as a
// kernel buffers a socket whose peer does not read; 0 makes every write
// wait for the peer's read) and which ends for both when either closes.
// Its blocking is on channels only, so synctest can tell when it waits.
func memConnPair(buffered int) (a, b *memConn) {
	ab, ba := make(chan []byte, buffered), make(chan []byte, buffered)
	done := make(chan struct{})
	once := new(sync.Once)
	return &memConn{in: ba, out: ab, done: done, once: once}, &memConn{in: ab, out: ba, done: done, once: once}
}

type memConn struct {
	in   <-chan []byte
	out  chan<- []byte
	done chan struct{}
	once *sync.Once
	mu   sync.Mutex // guards rest
	rest []byte     // of the last chunk read

	wmu     sync.Mutex // guards writeBy
	writeBy time.Time  // the write deadline, zero for none
}

func (c *memConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.rest) == 0 {
		select {
		case <-c.done:
			return 0, net.ErrClosed
		case c.rest = <-c.in:
		}
	}
	n := copy(p, c.rest)
	c.rest = c.rest[n:]
	return n, nil
}

// Write honours the write deadline set when it starts, as a real
// connection does, failing with os.ErrDeadlineExceeded.
func (c *memConn) Write(p []byte) (int, error) {
	select {
	case <-c.done:
		return 0, net.ErrClosed
	default:
	}
	c.wmu.Lock()
	by := c.writeBy
	c.wmu.Unlock()
	var expired <-chan time.Time
	if !by.IsZero() {
		t := time.NewTimer(time.Until(by))
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-c.done:
		return 0, net.ErrClosed
	case <-expired:
		return 0, os.ErrDeadlineExceeded
	case c.out <- append([]byte(nil), p...):
		return len(p), nil
	}
}

func (c *memConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

func (c *memConn) LocalAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 80} }
func (c *memConn) RemoteAddr() net.Addr            { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1234} }
func (c *memConn) SetDeadline(time.Time) error     { return nil }
func (c *memConn) SetReadDeadline(time.Time) error { return nil }
func (c *memConn) SetWriteDeadline(t time.Time) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.writeBy = t
	return nil
}
