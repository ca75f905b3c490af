package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bigtwo/gateway/session"
	"github.com/coder/websocket"
	"github.com/google/uuid"
	"golang.org/x/time/rate"
)

// Conn is one socket. The Handler sees only authenticated Conns.
//
// Goroutines: admission runs on ServeHTTP's goroutine, then one reader
// (Server.serve) for the rest of the socket's life; a
// writer only while frames are queued (or a close is due); a dispatcher
// only while routed frames wait for the Handler; timers are time.AfterFunc.
// The reader and the dispatcher write their own replies while no writer
// runs (writeNowLocked). An idle authenticated socket therefore owns one
// goroutine, its WebSocket with its two small buffers, this struct, a rate
// limiter and two timers.
//
// All methods are safe for concurrent use.
type Conn struct {
	srv  *Server
	ws   *websocket.Conn
	nc   net.Conn // the hijacked connection under ws: its write deadline, and abort
	id   uint64
	ip   string
	base context.Context // values of the upgrade request, never canceled

	// ctx is canceled when the socket starts closing; Handler calls get it.
	ctx    context.Context
	cancel context.CancelFunc

	// registry fields, guarded by the registry's mutex.
	pending    bool
	counted    bool // counted in the registry's sockets per address
	registered bool
	regSession uuid.UUID
	regPlayer  uuid.UUID

	mu       sync.Mutex
	identity session.Identity
	limiter  *rate.Limiter // made at welcome; used by the reader only

	// Send queue: encoded frames waiting for the writer, nil when empty,
	// and their total size.
	queue   [][]byte
	queued  int
	writing bool // a writer goroutine is running

	// Inbound queue: routed frames waiting for the dispatcher.
	in          []Message
	dispatching bool // a dispatcher goroutine is running
	// space is broadcast when in or the send queue shrinks, or the socket
	// closes: the reader and the dispatcher wait on it for room.
	space sync.Cond

	// Close state: the first request wins.
	closing     bool
	closeFlush  bool // write what is queued before the close frame
	closeCode   websocket.StatusCode
	closeReason string
	// closeDrop: the peer is known to be gone (it missed a heartbeat), so
	// the close frame gets deadPeerCloseWait and no close reply is awaited.
	closeDrop bool

	stopped   bool // serve has ended: no new goroutines
	workers   sync.WaitGroup
	authTimer *time.Timer
	hbTimer   *time.Timer
	pinging   bool // a heartbeat ping waits for its pong; hbTimer is its deadline
	// heardAt is when the reader last read a frame from the peer, as the
	// time since srv.started plus 1 ns (0: never): the heartbeat pings a
	// peer only once it has been silent for PingInterval.
	heardAt   atomic.Int64
	expTimer  *time.Timer
	warnAt    time.Time // when session.expiring is due for the current token
	warned    bool      // session.expiring was sent for the current token
	warnedExp time.Time // the exp of the token session.expiring was last sent for
}

func newConn(s *Server, ws *websocket.Conn, nc net.Conn, ip string, base context.Context) *Conn {
	c := &Conn{srv: s, ws: ws, nc: nc, ip: ip, base: base, id: s.nextID.Add(1)}
	c.ctx, c.cancel = context.WithCancel(base)
	c.space.L = &c.mu
	return c
}

// ID is a number unique among this Server's sockets, for logs and maps.
func (c *Conn) ID() uint64 { return c.id }

// Identity returns who the socket belongs to. ExpiresAt is the expiry of the
// socket's current access token, updated by auth.refresh.
func (c *Conn) Identity() session.Identity {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.identity
}

// Send queues m for the client without blocking. It returns net.ErrClosed
// once the socket is closing, and ErrSlowConsumer when SendQueue frames, or
// SendQueueBytes bytes, are already waiting: the socket is then closed with
// 1013 "slow consumer".
func (c *Conn) Send(m Message) error {
	return c.sendFrame(encodeFrame(m))
}

// PreparedMessage is a Message encoded once, to send the same frame to many
// sockets (a room's fan-out) without encoding it for each. Build it with
// NewPreparedMessage; it is immutable and safe for concurrent use.
type PreparedMessage struct {
	b []byte
}

// NewPreparedMessage encodes m for SendPrepared. As for Send, m's ID and
// Data must be valid JSON or empty.
func NewPreparedMessage(m Message) PreparedMessage {
	return PreparedMessage{b: encodeFrame(m)}
}

// errZeroPrepared is SendPrepared's answer to a PreparedMessage that was
// not built by NewPreparedMessage.
var errZeroPrepared = errors.New("gateway: zero PreparedMessage")

// SendPrepared is Send for a prepared message: the sockets it is sent to
// share its bytes.
func (c *Conn) SendPrepared(p PreparedMessage) error {
	if p.b == nil {
		return errZeroPrepared
	}
	return c.sendFrame(p.b)
}

func (c *Conn) sendFrame(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sendLocked(b)
}

func (c *Conn) sendLocked(b []byte) error {
	if c.closing {
		return net.ErrClosed
	}
	if c.fullLocked(len(b)) {
		c.srv.metrics.overflowed()
		c.closeLocked(websocket.StatusTryAgainLater, "slow consumer", false)
		return ErrSlowConsumer
	}
	c.queue = append(c.queue, b)
	c.queued += len(b)
	c.startWriterLocked()
	return nil
}

// fullLocked reports whether the send queue has no room for a frame of n
// bytes: SendQueue frames wait, or SendQueueBytes would be exceeded (a
// single frame is always taken by an empty queue, whatever its size).
func (c *Conn) fullLocked(n int) bool {
	return len(c.queue) >= c.srv.opts.SendQueue ||
		len(c.queue) > 0 && c.queued+n > c.srv.opts.SendQueueBytes
}

// Reply queues m as (part of) the answer to a request of this socket,
// typically from the Handler's Message or from code it waits for. Unlike
// Send, a full queue does not close the socket: m is queued anyway, and
// the socket's next request is dispatched only once the queue has room
// again (after WriteTimeout without room the client is a slow consumer
// after all: 1013). So a module's replies get the same backpressure as the
// gateway's own; frames for others still go through Send. It returns
// net.ErrClosed once the socket is closing.
func (c *Conn) Reply(m Message) error { return c.replyFrame(encodeFrame(m)) }

// replyFrame queues the encoded frame b as Reply does.
func (c *Conn) replyFrame(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return net.ErrClosed
	}
	c.queue = append(c.queue, b)
	c.queued += len(b)
	c.startWriterLocked()
	return nil
}

// ClientIP is the address the socket came from, as Options.ClientIP gave
// it (for limits that hold per address).
func (c *Conn) ClientIP() string { return c.ip }

// awaitRoom waits, on the dispatcher, until the send queue has room for
// another frame, for at most WriteTimeout; still full, the client is a
// slow consumer (1013).
func (c *Conn) awaitRoom() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waitSpaceLocked(0)
	if c.fullLocked(0) && !c.closing {
		c.srv.metrics.overflowed()
		c.closeLocked(websocket.StatusTryAgainLater, "slow consumer", false)
	}
}

// waitSpaceLocked waits until a frame of n bytes fits the send queue, the
// socket closes, or WriteTimeout passes. c.mu must be held; it is released
// while waiting.
func (c *Conn) waitSpaceLocked(n int) {
	if !c.fullLocked(n) || c.closing {
		return
	}
	timedOut := false
	t := time.AfterFunc(c.srv.opts.WriteTimeout, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		timedOut = true
		c.space.Broadcast()
	})
	for c.fullLocked(n) && !c.closing && !timedOut {
		c.space.Wait()
	}
	t.Stop()
}

// replyLocked queues b, a frame answering the client's own request, from
// the socket's own goroutines (the reader and the dispatcher). Unlike Send
// it does not take a full queue for a slow consumer at once: it waits for
// room, so the socket stops reading further requests meanwhile
// (backpressure on this client only); after WriteTimeout without room the
// client is a slow consumer after all (1013). A closing socket gets
// nothing. c.mu must be held; it is released while waiting.
func (c *Conn) replyLocked(b []byte) {
	c.waitSpaceLocked(len(b))
	c.writeNowLocked(b) // still full: 1013; closing: nothing to answer
}

// reply is replyLocked for a caller that does not hold c.mu.
func (c *Conn) reply(m Message) {
	b := encodeFrame(m)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.replyLocked(b)
}

// sendError answers the request id with an error frame, as a reply.
func (c *Conn) sendError(id json.RawMessage, code, message string) {
	c.reply(errorFrame(id, code, message))
}

// Close closes the socket with code and reason (at most 123 bytes) after
// the frames already queued have been written. It does not block: the close
// handshake runs on the socket's own goroutines. Later calls do nothing.
func (c *Conn) Close(code websocket.StatusCode, reason string) {
	c.close(code, reason, true)
}

// close requests the socket's end; with flush false, queued frames are
// dropped. It reports whether this was the first request.
func (c *Conn) close(code websocket.StatusCode, reason string, flush bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeLocked(code, reason, flush)
}

func (c *Conn) closeLocked(code websocket.StatusCode, reason string, flush bool) bool {
	if c.closing {
		return false
	}
	c.closing = true
	c.closeFlush = flush
	c.closeCode, c.closeReason = code, reason
	if !flush {
		c.queue, c.queued = nil, 0
	}
	c.cancel()
	c.space.Broadcast()
	c.startWriterLocked()
	return true
}

// isClosing reports whether a close was requested.
func (c *Conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// closeErr is the reason of the close that was requested, if any.
func (c *Conn) closeErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closing || c.closeCode == 0 {
		return nil
	}
	return websocket.CloseError{Code: c.closeCode, Reason: c.closeReason}
}

// requestedClose is the code of the close that was requested, 0 if none
// (or if only a failed write ended the socket).
func (c *Conn) requestedClose() websocket.StatusCode {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeCode
}

// goLocked runs f on a new goroutine owned by the socket, unless serve has
// ended. c.mu must be held.
func (c *Conn) goLocked(f func()) bool {
	if c.stopped {
		return false
	}
	c.workers.Add(1)
	go func() {
		defer c.workers.Done()
		f()
	}()
	return true
}

// enter registers the calling timer callback as a worker, unless serve has
// ended; the caller must call c.workers.Done when it returns true.
func (c *Conn) enter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return false
	}
	c.workers.Add(1)
	return true
}

func (c *Conn) startWriterLocked() {
	if !c.writing && c.goLocked(c.writeLoop) {
		c.writing = true
	}
}

// writeLoop writes queued frames until the queue is empty, then ends; when a
// close is due it performs the close handshake instead. It is the only
// goroutine that writes close frames; data frames are written by it, or by
// the reader or the dispatcher themselves while it does not run (see
// replyLocked).
func (c *Conn) writeLoop() {
	for {
		c.mu.Lock()
		if c.closing && (!c.closeFlush || len(c.queue) == 0) {
			c.queue, c.queued = nil, 0
			code, reason, drop := c.closeCode, c.closeReason, c.closeDrop
			c.mu.Unlock()
			if drop {
				// coder/websocket's Close would wait 5 s for a close reply
				// that a dead peer never sends: drop the connection once
				// the close frame has had its moment.
				t := time.AfterFunc(deadPeerCloseWait, c.abort)
				_ = c.ws.Close(code, reason)
				t.Stop()
			} else {
				_ = c.ws.Close(code, reason) // its failure only means the peer is gone
			}
			c.mu.Lock()
			c.writing = false
			c.mu.Unlock()
			return
		}
		if len(c.queue) == 0 {
			c.queue, c.queued = nil, 0
			c.writing = false
			c.mu.Unlock()
			return
		}
		b := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		c.queued -= len(b)
		c.space.Broadcast()
		c.mu.Unlock()

		if err := c.writeFrame(b); err != nil {
			c.mu.Lock()
			c.writeFailedLocked()
			c.mu.Unlock()
			return
		}
	}
}

// writeFrame writes one data frame, within WriteTimeout. WriteTimeout is
// the hijacked connection's write deadline, set for the frame and cleared
// after it: the runtime keeps that timer in the connection's poller entry,
// so a frame costs no timer, no context and none of the context.AfterFunc
// coder/websocket would register for a context with a deadline. A frame
// that misses it drops the peer, as an ending context would.
func (c *Conn) writeFrame(b []byte) error {
	// Counted before the write, so that a client that has read a frame
	// can rely on its count.
	c.srv.metrics.sent(encodedFamily(b))
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.srv.opts.WriteTimeout))
	err := c.ws.Write(c.base, websocket.MessageText, b)
	_ = c.nc.SetWriteDeadline(time.Time{}) // the close frame and pings have their own
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.srv.log.Info().Uint64("conn", c.id).Msg("write timeout")
		c.abort()
	}
	return err
}

// writeFailedLocked records that a write failed: nothing more can be
// written, and the reader sees the connection's end. c.mu must be held.
func (c *Conn) writeFailedLocked() {
	c.queue, c.queued = nil, 0
	c.writing = false
	c.closing = true
	c.cancel()
	c.space.Broadcast()
}

// writeNowLocked writes b on the calling goroutine (the reader or the
// dispatcher, answering their own socket's request) when no writer runs
// and nothing is queued: the frame needs no writer goroutine, and no
// other goroutine is woken for it. Otherwise b is queued behind the
// others. Frames queued meanwhile, or a close requested meanwhile, get the
// writer once it is done. c.mu must be held; it is released while writing.
func (c *Conn) writeNowLocked(b []byte) {
	if c.writing || len(c.queue) > 0 || c.closing || c.stopped {
		_ = c.sendLocked(b) // closing: nothing to answer
		return
	}
	c.writing = true
	c.mu.Unlock()
	err := c.writeFrame(b)
	c.mu.Lock()
	if err != nil {
		c.writeFailedLocked()
		return
	}
	c.writing = false
	if len(c.queue) > 0 || c.closing {
		c.startWriterLocked()
	}
}

// stop ends the socket's helpers: no new goroutines start, timers stop, the
// connection is closed (after the close handshake if one was requested),
// and every goroutine the socket started has returned.
func (c *Conn) stop() {
	c.mu.Lock()
	c.stopped = true
	handshake := c.closing && c.writing
	for _, t := range []*time.Timer{c.authTimer, c.hbTimer, c.expTimer} {
		if t != nil {
			t.Stop()
		}
	}
	c.cancel()
	c.space.Broadcast()
	c.mu.Unlock()
	if !handshake {
		// Nobody is closing politely: unblock any write or ping at once.
		_ = c.ws.CloseNow()
	}
	c.workers.Wait()
	_ = c.ws.CloseNow()
}

// abort drops the connection without a close handshake, at once, even while
// a close handshake is running: coder/websocket's CloseNow does nothing
// then (the handshake can wait ~10 s on a silent peer), so the hijacked
// net.Conn is closed underneath it, which fails every pending read and
// write of the socket.
func (c *Conn) abort() {
	_ = c.nc.Close()
	_ = c.ws.CloseNow()
}

// Frame returns the encoded frame, to carry it elsewhere (another gateway
// of a cluster); the bytes must not be modified.
func (p PreparedMessage) Frame() []byte { return p.b }

// PreparedFrame wraps an encoded frame, one that Frame returned, so that it
// can be sent again; nil if b is empty.
func PreparedFrame(b []byte) PreparedMessage { return PreparedMessage{b: b} }

// ReplyPrepared is Reply for a prepared message.
func (c *Conn) ReplyPrepared(p PreparedMessage) error {
	if p.b == nil {
		return errZeroPrepared
	}
	return c.replyFrame(p.b)
}
