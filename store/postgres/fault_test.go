package postgres_test

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bigtwo/gateway/session"
	"github.com/bigtwo/gateway/store/postgres"
)

// proxy is a TCP proxy to PostgreSQL that a test can cut, stall and
// restore.
type proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu      sync.Mutex
	changed *sync.Cond // on mu, broadcast when state changes
	state   proxyState
	conns   map[net.Conn]struct{}
}

type proxyState int

const (
	forwarding proxyState = iota
	// cut: every connection is closed, new ones at once (refused, as far
	// as the client can tell).
	cut
	// stalled: bytes and new connections are held until the state
	// changes, like a network that drops packets for a while (TCP then
	// delivers what was held, or gives up).
	stalled
)

// newProxy starts a proxy to target, stopped when the test ends.
func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.changed = sync.NewCond(&p.mu)
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

// accept serves connections until the listener closes.
func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

func (p *proxy) serve(c net.Conn) {
	if !p.track(c) {
		c.Close()
		return
	}
	defer p.untrack(c)
	if p.waitUnstalled() == cut {
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(up) {
		up.Close()
		return
	}
	defer p.untrack(up)
	var wg sync.WaitGroup
	copyHalf := func(dst, src net.Conn) {
		defer dst.Close()
		defer src.Close()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if p.waitUnstalled() == cut {
					return
				}
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	wg.Go(func() { copyHalf(up, c) })
	wg.Go(func() { copyHalf(c, up) })
	wg.Wait()
}

// waitUnstalled waits while the proxy is stalled and returns the new state.
func (p *proxy) waitUnstalled() proxyState {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.state == stalled {
		p.changed.Wait()
	}
	return p.state
}

// track records c unless the proxy is cut.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == cut {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
	c.Close()
}

// set changes the proxy's state; cutting closes every connection through
// it.
func (p *proxy) set(s proxyState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state = s
	p.changed.Broadcast()
	if s == cut {
		for c := range p.conns {
			c.Close()
		}
	}
}

func (p *proxy) close() {
	p.ln.Close()
	p.set(cut)
	p.wg.Wait()
}

// closedPort returns an address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestDatabaseCutAndRestored(t *testing.T) {
	for _, mode := range []struct {
		name  string
		state proxyState
	}{{"refused", cut}, {"stalled", stalled}} {
		t.Run(mode.name, func(t *testing.T) { testCutAndRestored(t, mode.state) })
	}
}

// testCutAndRestored puts the proxy in state mode while the store is in use
// and restores it.
func testCutAndRestored(t *testing.T, mode proxyState) {
	u := newSchema(t)
	direct := openStore(t, u, postgres.Options{})
	px := newProxy(t, hostOf(t, u))
	const timeout = 500 * time.Millisecond
	s := openStore(t, withHost(t, u, px.addr()), postgres.Options{Timeout: timeout, ListenReconnectDelay: 100 * time.Millisecond})
	w := watch(t, s)
	p, first := newPlayer(t, s, time.Now())

	px.set(mode)
	calls := []struct {
		name string
		call func() error
	}{
		{"Ping", func() error { return s.Ping(t.Context()) }},
		{"Session", func() error { _, err := s.Session(t.Context(), first.ID); return err }},
		{"TouchSession", func() error { _, err := s.TouchSession(t.Context(), first.ID, time.Now()); return err }},
		{"CreateSession", func() error {
			_, err := s.CreateSession(t.Context(), newSession(t, p.ID, time.Now()), 5)
			return err
		}},
		{"RotateRefresh", func() error {
			now := time.Now()
			_, err := s.RotateRefresh(t.Context(), first.RefreshHash, hash("new"), now, now.Add(time.Hour), session.ClientInfo{})
			return err
		}},
		{"RevokeSession", func() error {
			_, err := s.RevokeSession(t.Context(), uuid.New(), time.Now(), session.ReasonLogout)
			return err
		}},
		{"DeleteExpired", func() error { _, err := s.DeleteExpired(t.Context(), base); return err }},
	}
	for _, c := range calls {
		start := time.Now()
		err := c.call()
		if !errors.Is(err, session.ErrUnavailable) {
			t.Errorf("cut: %s = %v, want ErrUnavailable", c.name, err)
		}
		if d := time.Since(start); d > timeout+time.Second {
			t.Errorf("cut: %s took %v, want at most about the timeout %v", c.name, d, timeout)
		}
	}

	// Revoked while the listener's connection is down: its NOTIFY is lost,
	// the re-read after the reconnect must deliver it.
	if _, err := direct.RevokeSession(t.Context(), first.ID, time.Now(), session.ReasonAdmin); err != nil {
		t.Fatalf("RevokeSession through the direct store: %v", err)
	}
	px.set(forwarding)

	want := session.Revocation{SessionID: first.ID, PlayerID: p.ID, Reason: session.ReasonAdmin}
	if got := w.waitFor(t, first.ID, 10*time.Second); got != want {
		t.Errorf("after reconnect Watch got %+v, want %+v", got, want)
	}
	// The pool may hand out one connection that died in the cut before it
	// notices: calls succeed again within a few attempts.
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := s.Session(t.Context(), first.ID)
		if err == nil {
			if got.RevokedReason != session.ReasonAdmin {
				t.Errorf("Session after restore: revoked for %q, want %q", got.RevokedReason, session.ReasonAdmin)
			}
			break
		}
		if !isUnavailable(err) || time.Now().After(deadline) {
			t.Fatalf("Session after restore = %v", err)
		}
	}
	if _, err := s.CreateSession(t.Context(), newSession(t, p.ID, time.Now()), 5); err != nil {
		t.Errorf("CreateSession after restore: %v", err)
	}
}
