package gateway

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/bigtwo/gateway/session"
)

// TestHalfOpenPeerReleasedAfterHeartbeat: a peer that stops answering (a
// SIGSTOPped process, a dead network: its socket still takes what is
// written) is known dead once a heartbeat goes unanswered. The gateway then
// sends its close frame and drops the connection soon after, rather than
// wait coder/websocket's 5 s for a close reply that cannot come: the socket
// is released within PingInterval + PingTimeout and a second. Fake time
// (testing/synctest) over an in-memory connection that buffers like a
// kernel's socket.
func TestHalfOpenPeerReleasedAfterHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := Options{PingInterval: 5 * time.Second, PingTimeout: 3 * time.Second}
		auth := &fakeAuth{tokens: make(map[string]authResult)}
		h := newTestHandler()
		srv := NewServer(auth, h, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel), opts)
		auth.set("tok", session.Identity{PlayerID: uuid.New(), SessionID: uuid.New(), Username: "brave-otter",
			ExpiresAt: time.Now().Add(time.Hour)}, nil)

		client, server := memConnPair()
		req := httptest.NewRequest(http.MethodGet, "http://gateway/ws", nil)
		for k, v := range map[string]string{"Upgrade": "websocket", "Connection": "Upgrade",
			"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
			"Authorization": "Bearer tok"} {
			req.Header.Set(k, v)
		}
		start := time.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.ServeHTTP(&hijackWriter{h: http.Header{}, conn: server}, req)
		}()
		peer := &rawConn{c: client, br: bufio.NewReader(client)}
		if _, p := peer.readFrame(t); !strings.Contains(string(p), `"welcome"`) {
			t.Fatalf("first frame = %s, want welcome", p)
		}
		<-done
		// The peer reads nothing more: heartbeats go unanswered.
		select {
		case <-h.disconnected:
		case <-time.After(time.Minute):
			t.Fatal("half-open peer not released within a minute")
		}
		released := time.Since(start)
		if limit := opts.PingInterval + opts.PingTimeout + time.Second; released > limit {
			t.Errorf("half-open peer released after %v, want within %v", released, limit)
		}
		client.Close()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
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
// never block (up to 4096 writes are buffered, as a kernel buffers a socket
// whose peer does not read) and which ends for both when either closes.
// Its blocking is on channels only, so synctest can tell when it waits.
func memConnPair() (a, b *memConn) {
	ab, ba := make(chan []byte, 4096), make(chan []byte, 4096)
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

func (c *memConn) Write(p []byte) (int, error) {
	select {
	case <-c.done:
		return 0, net.ErrClosed
	default:
	}
	select {
	case <-c.done:
		return 0, net.ErrClosed
	case c.out <- append([]byte(nil), p...):
		return len(p), nil
	}
}

func (c *memConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

func (c *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 80} }
func (c *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1234} }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }
