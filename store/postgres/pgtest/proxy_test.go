package pgtest_test

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/bigtwo/gateway/store/postgres/pgtest"
)

// echoServer accepts connections and echoes what they send until the test
// ends; it returns its address.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(c, c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip sends msg on c and returns what comes back, failing the test
// if nothing does within 5s.
func roundTrip(t *testing.T, c net.Conn, msg string) (string, error) {
	t.Helper()
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	buf := make([]byte, len(msg))
	_, err := io.ReadFull(c, buf)
	if isTimeout(err) {
		t.Fatalf("no answer to %q within 5s", msg)
	}
	return string(buf), err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// connected returns a proxy to an echo server and a connection through it
// that has made one round trip.
func connected(t *testing.T) (*pgtest.Proxy, net.Conn) {
	t.Helper()
	px := pgtest.NewProxy(t, echoServer(t))
	c := dial(t, px.Addr())
	if got, err := roundTrip(t, c, "hello"); err != nil || got != "hello" {
		t.Fatalf("through the proxy: %q, %v; want %q", got, err, "hello")
	}
	return px, c
}

func TestProxyForwards(t *testing.T) {
	connected(t)
}

func TestProxyCutAndRestore(t *testing.T) {
	px, before := connected(t)
	px.Cut()
	if _, err := roundTrip(t, before, "cut"); err == nil {
		t.Error("a connection from before the cut still works")
	}
	if _, err := roundTrip(t, dial(t, px.Addr()), "new"); err == nil {
		t.Error("a new connection works while cut")
	}

	px.Restore()
	if got, err := roundTrip(t, dial(t, px.Addr()), "back"); err != nil || got != "back" {
		t.Errorf("after Restore: %q, %v; want %q", got, err, "back")
	}
}

func TestProxyStallHoldsUntilRestore(t *testing.T) {
	px, c := connected(t)
	px.Stall()
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatalf("write while stalled: %v", err)
	}
	// Nothing may come back while stalled: a short wait for an absence,
	// not for an event.
	buf := make([]byte, 4)
	if err := c.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Read(buf); !isTimeout(err) {
		t.Fatalf("read while stalled = %q, %v; want a timeout", buf[:n], err)
	}
	px.Restore()
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "held" {
		t.Errorf("after Restore read %q, %v; want what was held, %q", buf, err, "held")
	}
}
