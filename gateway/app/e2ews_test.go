package app_test

// The client sockets of the multi-process cluster tests: each keeps every
// frame it receives, with its arrival time, so that a test can wait for
// one with a deadline and check them all at the end.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

var errReadTimeout = errors.New("no frame in time")

// wsFrame is a frame as received, with its arrival time.
type wsFrame struct {
	Type string          `json:"type"`
	ID   json.RawMessage `json:"id"`
	Data json.RawMessage `json:"data"`
	at   time.Time
}

func (f wsFrame) id() string {
	var s string
	_ = json.Unmarshal(f.ID, &s)
	return s
}

// wsConn is a client socket whose read loop keeps every frame. The test
// goroutine consumes them in order with next; all returns every frame.
type wsConn struct {
	name   string // player@gateway
	player string // player id
	gw     string // the gateway it was opened on
	conn   *websocket.Conn
	done   chan struct{} // closed when the read loop has ended

	mu      sync.Mutex
	frames  []wsFrame
	err     error         // why the read loop ended
	changed chan struct{} // closed and replaced when frames or err change

	pos int // next frame for next; only the test goroutine
}

// dialWS opens a socket on gateway g with token and waits for welcome.
func dialWS(t *testing.T, g *e2eGateway, token, player, name string) *wsConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, g.wsURL(), &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
		HTTPClient: g.cl.http,
	})
	if err != nil {
		t.Fatalf("dial %s as %s: %v", g.name, name, err)
	}
	conn.SetReadLimit(1 << 20)
	c := &wsConn{name: name + "@" + g.name, player: player, gw: g.name, conn: conn, done: make(chan struct{}), changed: make(chan struct{})}
	go c.readLoop()
	t.Cleanup(func() {
		c.conn.CloseNow()
		<-c.done
	})
	if f, err := c.next(time.Now().Add(e2eWait)); err != nil || f.Type != "welcome" {
		t.Fatalf("%s: first frame %s %s, %v; want welcome", c.name, f.Type, f.Data, err)
	}
	return c
}

func (c *wsConn) readLoop() {
	defer close(c.done)
	for {
		_, b, err := c.conn.Read(context.Background()) // ended by CloseNow at cleanup
		now := time.Now()
		c.mu.Lock()
		if err != nil {
			c.err = err
		} else {
			var f wsFrame
			if json.Unmarshal(b, &f) != nil {
				f = wsFrame{Type: "!not json", Data: json.RawMessage(fmt.Sprintf("%q", b))}
			}
			f.at = now
			c.frames = append(c.frames, f)
		}
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// next returns the next frame not yet consumed, waiting until deadline; an
// error is the socket's end (after the frames it got) or errReadTimeout.
func (c *wsConn) next(deadline time.Time) (wsFrame, error) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		c.mu.Lock()
		if c.pos < len(c.frames) {
			f := c.frames[c.pos]
			c.pos++
			c.mu.Unlock()
			return f, nil
		}
		err, changed := c.err, c.changed
		c.mu.Unlock()
		if err != nil {
			return wsFrame{}, err
		}
		select {
		case <-changed:
		case <-timer.C:
			return wsFrame{}, errReadTimeout
		}
	}
}

// consumed returns the last game.state that next has returned, if any.
func (c *wsConn) consumed() (wsFrame, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := c.pos - 1; i >= 0; i-- {
		if c.frames[i].Type == "game.state" {
			return c.frames[i], true
		}
	}
	return wsFrame{}, false
}

// tail describes the last n frames c received, for a failure message.
func (c *wsConn) tail(n int) string {
	fs := c.all()
	var b strings.Builder
	for _, f := range fs[max(0, len(fs)-n):] {
		fmt.Fprintf(&b, "  %s %s %s %.300s\n", f.at.Format(time.StampMicro), f.Type, f.ID, f.Data)
	}
	if done, code := c.closed(); done {
		fmt.Fprintf(&b, "  closed: %d\n", code)
	}
	return b.String()
}

func (c *wsConn) all() []wsFrame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]wsFrame(nil), c.frames...)
}

// closed reports whether the socket has ended, and its close code.
func (c *wsConn) closed() (bool, websocket.StatusCode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err != nil, websocket.CloseStatus(c.err)
}

func (c *wsConn) send(t *testing.T, frame string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.conn.Write(ctx, websocket.MessageText, []byte(frame)) // a socket that died shows on the next read
}
