package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/store/memory"
)

// cutProxy forwards TCP to a target until cut, when it drops every
// connection and refuses new ones; restore lets connections through again.
type cutProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.setCut(true)
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, 2*time.Second)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			defer p.wg.Done()
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		go pipe(up, c)
		go pipe(c, up)
	}
}

func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

// viaProxy rewrites a database URL to go through p.
func viaProxy(t *testing.T, db string, p *cutProxy) string {
	t.Helper()
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.ln.Addr().String()
	return u.String()
}

func TestStoreOutageAndRecovery(t *testing.T) {
	db := testDatabase(t)
	u, _ := url.Parse(db)
	proxy := newCutProxy(t, u.Host)
	g := startGateway(t, map[string]string{
		"GATEWAY_DATABASE_URL":  viaProxy(t, db, proxy),
		"GATEWAY_JWT_SECRET":    testSecret,
		"GATEWAY_STORE_TIMEOUT": "1s",
	})
	tok, _ := g.createSession(t)
	if res := g.do(t, "GET", "/readyz", nil); res.status != 200 {
		t.Fatalf("readyz = %d", res.status)
	}

	proxy.setCut(true)
	start := time.Now()
	wantJSONError(t, g.do(t, "POST", "/session", nil), 503, "store_unavailable")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("POST /session took %v with the store down, want about the 1s store timeout", d)
	}
	wantJSONError(t, g.do(t, "GET", "/session/validate", map[string]string{"Authorization": "Bearer " + tok}), 503, "store_unavailable")
	wantJSONError(t, g.do(t, "GET", "/readyz", nil), 503, "store_unavailable")

	proxy.setCut(false)
	deadline := time.Now().Add(10 * time.Second)
	for g.do(t, "GET", "/readyz", nil).status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("readyz did not recover within 10s of the store coming back")
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline, not waiting for an event
	}
	if res := g.do(t, "GET", "/session/validate", map[string]string{"Authorization": "Bearer " + tok}); res.status != 200 {
		t.Fatalf("validate after recovery = %d %s", res.status, res.body)
	}
}

func TestReadyzWhileDraining(t *testing.T) {
	gw := gateway.NewServer(nil, nil, zerolog.Nop(), gateway.Options{})
	h := handleReadyz(memory.New(), gw)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 {
		t.Fatalf("readyz before drain = %d", rec.Code)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := gw.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v", err)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 {
		t.Fatalf("readyz while draining = %d, want 503", rec.Code)
	}
}
