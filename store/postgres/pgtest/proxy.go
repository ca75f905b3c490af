package pgtest

import (
	"net"
	"sync"
	"testing"
)

// Proxy is a TCP proxy to PostgreSQL that a test can Cut, Stall and
// Restore, to see how code behaves when the database goes away. It
// forwards from the start. Its methods are safe for concurrent use; its
// goroutines stop, and every connection through it closes, when the test
// ends.
type Proxy struct {
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

// NewProxy starts a proxy on a free port of 127.0.0.1 to target
// (host:port), stopped when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &Proxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.changed = sync.NewCond(&p.mu)
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

// Addr returns the host:port the proxy listens on; see WithHost.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every connection through the proxy and, until Restore or
// Stall, closes new ones as soon as they arrive: the database looks down.
func (p *Proxy) Cut() { p.set(cut) }

// Stall holds the bytes in flight and the new connections until Cut or
// Restore, like a network that drops packets for a while: the database
// looks hung.
func (p *Proxy) Stall() { p.set(stalled) }

// Restore forwards again: what Stall held goes through, and new
// connections reach the target. Connections closed by Cut stay closed.
func (p *Proxy) Restore() { p.set(forwarding) }

// accept serves connections until the listener closes.
func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

func (p *Proxy) serve(c net.Conn) {
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
	wg.Go(func() { p.copyHalf(up, c) })
	wg.Go(func() { p.copyHalf(c, up) })
	wg.Wait()
}

// copyHalf copies src to dst until either fails or the proxy is cut, then
// closes both.
func (p *Proxy) copyHalf(dst, src net.Conn) {
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

// waitUnstalled waits while the proxy is stalled and returns the new state.
func (p *Proxy) waitUnstalled() proxyState {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.state == stalled {
		p.changed.Wait()
	}
	return p.state
}

// track records c unless the proxy is cut.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == cut {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
	c.Close()
}

// set changes the proxy's state; cutting closes every connection through
// it.
func (p *Proxy) set(s proxyState) {
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

// close stops accepting, cuts every connection and waits for the
// goroutines.
func (p *Proxy) close() {
	p.ln.Close()
	p.set(cut)
	p.wg.Wait()
}
