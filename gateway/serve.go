package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/bigtwo/gateway/session"
	"github.com/coder/websocket"
	"golang.org/x/time/rate"
)

// errClosing ends the read loop once the socket was asked to close.
var errClosing = errors.New("gateway: closing")

// open runs a new socket's admission on the calling goroutine, ServeHTTP's
// (which ends when open returns): first-frame authentication, the registry,
// the welcome, Handler.Connect. Only an admitted socket gets its long-lived
// reader, started afresh here, so that the reader's stack holds only what
// reading frames needs (a goroutine's stack never shrinks back from
// what admission grew it to). Either way the socket's end is accounted
// for by end.
func (s *Server) open(c *Conn, hs handshake) {
	var err error
	switch draining, aborted := s.reg.addPending(c); {
	case aborted:
		s.metrics.opened(hs.path(), resultDraining)
		c.abort()
		err = errDraining
	case draining:
		s.metrics.opened(hs.path(), resultDraining)
		c.close(websocket.StatusGoingAway, "server shutting down", false)
		err = errDraining
	default:
		err = s.connect(c, hs)
	}
	if err != nil {
		s.end(c, false, err)
		return
	}
	go s.serve(c) // owned through reg.active, which end releases
}

// serve is the socket's reader goroutine for its whole authenticated life.
// It returns only after every goroutine the socket started has ended and
// the Handler has been told.
func (s *Server) serve(c *Conn) {
	s.end(c, true, s.readLoop(c))
}

// end tears the socket down: its helpers stop, the registry forgets it, the
// Handler is told (if it was connected), and its reservation of reg.active
// is released.
func (s *Server) end(c *Conn, connected bool, err error) {
	defer s.reg.active.Done()
	c.stop()
	s.reg.remove(c)
	s.metrics.closed(endCode(c, err)) // before Disconnect, so tests can wait on it
	if connected {
		if ce := c.closeErr(); ce != nil {
			err = ce
		}
		s.h.Disconnect(c, err)
	}
	s.log.Debug().Uint64("conn", c.id).Err(err).Msg("socket ended")
}

// endCode is the close code a socket ended with: the one the server
// requested, else the peer's, else 1006 (dropped without a close frame).
// Over the read limit, coder/websocket has sent 1009 itself, whatever was
// requested since.
func endCode(c *Conn, err error) websocket.StatusCode {
	if errors.Is(err, websocket.ErrMessageTooBig) {
		return websocket.StatusMessageTooBig
	}
	if code := c.requestedClose(); code != 0 {
		return code
	}
	if code := websocket.CloseStatus(err); code != -1 {
		return code
	}
	return websocket.StatusAbnormalClosure
}

// connect authenticates c, admits it and hands it to the Handler; nil
// means the socket is ready for its reader.
func (s *Server) connect(c *Conn, hs handshake) error {
	c.ws.SetReadLimit(preAuthReadLimit)
	var replyTo json.RawMessage
	id, authStart := hs.id, hs.authStart
	switch {
	case !hs.source.present:
		var err error
		id, replyTo, authStart, err = s.firstFrameAuth(c)
		if err != nil {
			return err
		}
	case hs.err != nil:
		s.refuse(c, hs.err, hs.path())
		return hs.err
	}
	if err := s.admit(c, id, hs.path(), authStart, replyTo); err != nil {
		return err
	}
	if err := s.h.Connect(c.ctx, c); err != nil {
		s.log.Error().Err(err).Uint64("conn", c.id).Msg("room module refused socket")
		c.close(websocket.StatusInternalError, "internal error", true)
		return err
	}
	return nil
}

// refuse closes c after a failed authentication: 4001 with a short reason,
// 1013 when the store is unavailable.
func (s *Server) refuse(c *Conn, err error, via authPath) {
	code, reason := closeCode(err)
	ev := s.log.Info()
	if code == websocket.StatusInternalError || code == websocket.StatusTryAgainLater {
		ev = s.log.Error()
	}
	ev.Err(err).Uint64("conn", c.id).Str("via", via.String()).Msg("socket authentication failed")
	s.metrics.opened(via, resultOf(err))
	c.close(code, reason, false)
}

// firstFrameAuth waits for the auth frame. The auth timeout is a timer
// that closes with 4002, not a read deadline (which would drop the socket
// without a close frame).
func (s *Server) firstFrameAuth(c *Conn) (_ session.Identity, replyTo json.RawMessage, authStart time.Time, _ error) {
	c.mu.Lock()
	c.authTimer = time.AfterFunc(s.opts.AuthTimeout, func() {
		c.close(StatusAuthTimeout, "auth timeout", false)
	})
	c.mu.Unlock()

	typ, buf, err := s.readFrame(c)
	c.mu.Lock()
	c.authTimer.Stop()
	c.mu.Unlock()
	var b []byte
	if buf != nil {
		defer s.releaseFrame(buf) // what is kept of it is copied below
		b = *buf
	}
	if err != nil {
		err = s.readFailed(c, err)
		s.metrics.opened(pathFrame, unauthenticatedEnd(c, err))
		return session.Identity{}, nil, time.Time{}, err
	}
	if c.isClosing() { // the auth timer fired as the frame arrived
		s.metrics.opened(pathFrame, unauthenticatedEnd(c, nil))
		return session.Identity{}, nil, time.Time{}, errClosing
	}
	if typ == websocket.MessageText && !utf8.Valid(b) {
		s.metrics.received(famOther)
		s.metrics.opened(pathFrame, resultProtocolError)
		c.close(websocket.StatusInvalidFramePayloadData, "invalid utf-8", false)
		return session.Identity{}, nil, time.Time{}, errClosing
	}
	m, err := decodeFrame(b)
	if typ != websocket.MessageText || err != nil {
		s.metrics.received(famOther)
	} else {
		s.metrics.received(typeFamily(m.Type))
	}
	if typ != websocket.MessageText || err != nil || m.Type != "auth" {
		s.metrics.opened(pathFrame, resultMissingToken)
		c.close(StatusInvalidToken, "first frame must be auth", false)
		return session.Identity{}, nil, time.Time{}, fmt.Errorf("first frame: %w", session.ErrMissingToken)
	}
	var data struct {
		Token string `json:"token"`
	}
	if len(m.Data) > 0 {
		_ = json.Unmarshal(m.Data, &data) // a bad body is a missing token (the token is a copy)
	}
	m.ID = bytes.Clone(m.ID) // the welcome answers it, after b went back to the pool
	if data.Token == "" {
		err := fmt.Errorf("auth frame: %w", session.ErrMissingToken)
		s.refuse(c, err, pathFrame)
		return session.Identity{}, nil, time.Time{}, err
	}
	authStart = s.opts.Now()
	id, err := s.authenticate(c.ctx, data.Token)
	if err != nil {
		s.refuse(c, err, pathFrame)
		return session.Identity{}, nil, time.Time{}, err
	}
	return id, m.ID, authStart, nil
}

// admit registers the authenticated c, queues its welcome (always the
// first server frame) and starts its heartbeat and expiry timers.
func (s *Server) admit(c *Conn, id session.Identity, via authPath, authStart time.Time, replyTo json.RawMessage) error {
	elsewhere := 0
	if s.opts.PlayerSocketsElsewhere != nil {
		elsewhere = s.opts.PlayerSocketsElsewhere(id.PlayerID)
	}
	if err := s.reg.admit(c, id, authStart, s.opts.MaxSocketsPerPlayer, elsewhere); err != nil {
		switch {
		case errors.Is(err, errTooManySockets):
			s.log.Warn().Str("player_id", id.PlayerID.String()).Msg("too many sockets for player")
			s.metrics.opened(via, resultTooManySockets)
			c.close(StatusTooManySockets, "too many sockets", false)
		case errors.Is(err, session.ErrRevoked):
			s.metrics.opened(via, resultSessionRevoked)
			c.close(StatusRevoked, "session revoked", false)
		default:
			s.metrics.opened(via, resultDraining)
			c.close(websocket.StatusGoingAway, "server shutting down", false)
		}
		return err
	}
	s.metrics.opened(via, resultOK)
	c.ws.SetReadLimit(s.opts.MaxMessageBytes)
	welcome := encodeFrame(dataFrame("welcome", replyTo, struct {
		SessionID string    `json:"session_id"`
		PlayerID  string    `json:"player_id"`
		Username  string    `json:"username"`
		ExpiresAt time.Time `json:"expires_at"`
	}{id.SessionID.String(), id.PlayerID.String(), id.Username, id.ExpiresAt.UTC()}))

	c.mu.Lock()
	defer c.mu.Unlock()
	c.identity = id
	if s.opts.MessageRate != rate.Inf {
		c.limiter = rate.NewLimiter(s.opts.MessageRate, s.opts.MessageBurst)
	}
	if c.closing { // revoked or drained since the registry took it
		return fmt.Errorf("welcome: %w", net.ErrClosed)
	}
	c.writeNowLocked(welcome) // on this goroutine: no writer to start
	c.armHeartbeatLocked()
	c.scheduleExpiryLocked(s.opts.Now())
	s.log.Debug().Uint64("conn", c.id).Str("session_id", id.SessionID.String()).Msg("socket authenticated")
	return nil
}

// readLoop reads frames until the socket ends. It answers ping and errors
// itself and queues auth.refresh and every other type (the Handler's) for
// the dispatcher, so
// that it keeps reading (and so keeps answering heartbeats) while the
// Handler works.
func (s *Server) readLoop(c *Conn) error {
	for {
		typ, buf, err := s.readFrame(c)
		if err != nil {
			return s.readFailed(c, err)
		}
		c.heardAt.Store(int64(time.Since(s.started)) + 1) // the peer is alive: the heartbeat may wait
		if !s.handleFrame(c, typ, *buf) {
			s.releaseFrame(buf) // nothing kept its bytes
		}
	}
}

// maxPooledFrame is the largest read buffer kept for the next frame; a
// larger one (a rare big frame) is left to the garbage collector.
const maxPooledFrame = 8 << 10

// readFrame reads the socket's next data frame into a pooled buffer.
func (s *Server) readFrame(c *Conn) (websocket.MessageType, *[]byte, error) {
	typ, r, err := c.ws.Reader(c.base)
	if err != nil {
		return 0, nil, err
	}
	buf, _ := s.frames.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	*buf, err = readAllInto(r, (*buf)[:0])
	if err != nil {
		s.releaseFrame(buf)
		return 0, nil, err
	}
	return typ, buf, nil
}

// releaseFrame gives a read buffer back to the pool, unless it grew past
// maxPooledFrame.
func (s *Server) releaseFrame(buf *[]byte) {
	if cap(*buf) <= maxPooledFrame {
		s.frames.Put(buf)
	}
}

// readAllInto is io.ReadAll appending to b.
func readAllInto(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // room to read into
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// handleFrame handles one data frame of an authenticated socket, read into
// b. It reports whether b was handed on (a frame queued for the
// dispatcher keeps its bytes); otherwise the caller may reuse b.
func (s *Server) handleFrame(c *Conn, typ websocket.MessageType, b []byte) (kept bool) {
	if c.isClosing() {
		return false // read on until the peer answers the close
	}
	if c.limiter != nil && !c.limiter.AllowN(s.opts.Now(), 1) {
		s.log.Warn().Uint64("conn", c.id).Msg("message rate exceeded")
		c.close(StatusRateLimited, "rate limit exceeded", false)
		return false
	}
	if typ != websocket.MessageText {
		s.metrics.received(famOther)
		c.sendError(nil, "bad_request", "binary frames are not supported")
		return false
	}
	if !utf8.Valid(b) {
		s.metrics.received(famOther)
		c.close(websocket.StatusInvalidFramePayloadData, "invalid utf-8", false)
		return false
	}
	m, err := decodeFrame(b)
	if err != nil {
		s.metrics.received(famOther)
		c.sendError(nil, "bad_request", strings.TrimSuffix(err.Error(), ": "+errBadFrame.Error()))
		return false
	}
	s.metrics.received(typeFamily(m.Type))
	switch {
	case m.Type == "auth":
		c.sendError(m.ID, "already_authenticated", "this socket is already authenticated")
	case m.Type == "ping" && len(m.Data) > maxPingData:
		c.sendError(m.ID, "bad_request", "ping data is limited to 1 KiB")
	case m.Type == "ping":
		c.reply(Message{Type: "pong", ID: m.ID, Data: m.Data})
	case m.Type == "pong":
	default: // auth.refresh, and every other type for the Handler
		return c.enqueue(m)
	}
	return false
}

// readFailed turns a read error into the socket's end: a close by the peer
// ends it as is; a connection that ended under the socket (a reset, a
// broken pipe, EOF: crashes and mobile networks do that all the time) ends
// it as dropped, 1006, with no close frame to send and a debug line only;
// over the read limit coder/websocket has sent 1009; any other protocol
// violation is closed with 1002.
func (s *Server) readFailed(c *Conn, err error) error {
	switch {
	case websocket.CloseStatus(err) != -1:
	case connectionLost(err):
		s.log.Debug().Err(err).Uint64("conn", c.id).Msg("connection lost")
	case errors.Is(err, websocket.ErrMessageTooBig):
		s.log.Warn().Uint64("conn", c.id).Msg("message too big")
		c.close(websocket.StatusMessageTooBig, "message too big", false)
	default:
		s.log.Warn().Err(err).Uint64("conn", c.id).Msg("websocket protocol error")
		c.close(websocket.StatusProtocolError, "protocol error", false)
	}
	return fmt.Errorf("read: %w", err)
}

// connectionLost reports whether err, from reading a socket, means that
// the connection under it ended or failed (any error of the network
// connection itself: a reset, a broken pipe, a timeout, EOF, closed),
// rather than that the peer broke the WebSocket protocol.
func connectionLost(err error) bool {
	var opErr *net.OpError
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ETIMEDOUT) ||
		errors.As(err, &opErr)
}

// enqueue queues a routed frame for the dispatcher, waiting while the queue
// is full. It reports false when the socket is closing.
func (c *Conn) enqueue(m Message) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.in) >= inboundQueue && !c.closing {
		c.space.Wait()
	}
	if c.closing {
		return false
	}
	c.in = append(c.in, m)
	if !c.dispatching && c.goLocked(c.dispatchLoop) {
		c.dispatching = true
	}
	return true
}

// dispatchLoop hands queued frames to the server one at a time and ends
// when the queue is empty or the socket closes.
func (c *Conn) dispatchLoop() {
	for {
		c.mu.Lock()
		if len(c.in) == 0 || c.closing {
			c.in = nil
			c.dispatching = false
			c.mu.Unlock()
			return
		}
		m := c.in[0]
		c.in[0] = Message{}
		c.in = c.in[1:]
		c.space.Broadcast() // the reader may wait, and the dispatcher only in replyLocked
		c.mu.Unlock()
		c.srv.dispatch(c, m)
	}
}

// dispatch runs one routed frame. After the Handler returns, it waits
// until the send queue has room again (see Conn.Reply) before the next
// frame of the socket is dispatched.
func (s *Server) dispatch(c *Conn, m Message) {
	if m.Type == "auth.refresh" {
		s.refresh(c, m)
		return
	}
	err := s.h.Message(c.ctx, c, m)
	defer c.awaitRoom()
	if err == nil {
		return
	}
	var ge Error
	var pge *Error
	switch {
	case errors.As(err, &ge):
		c.sendError(m.ID, ge.Code, ge.Message)
	case errors.As(err, &pge) && pge != nil:
		c.sendError(m.ID, pge.Code, pge.Message)
	case c.ctx.Err() != nil:
		// The socket is closing (the error is likely its Send failing or
		// ctx ending): nothing left to answer.
	default:
		s.log.Error().Err(err).Uint64("conn", c.id).Str("type", m.Type).Msg("room module error")
		c.close(websocket.StatusInternalError, "internal error", false)
	}
}

// refresh answers auth.refresh: a valid token of the same session extends
// the socket's life; anything else is an error frame and the old deadline
// stands.
func (s *Server) refresh(c *Conn, m Message) {
	var data struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(m.Data, &data); err != nil || data.Token == "" {
		s.metrics.authFailed(resultMissingToken)
		c.sendError(m.ID, "bad_request", `auth.refresh needs data {"token":"..."}`)
		return
	}
	id, err := s.authenticate(c.ctx, data.Token)
	if err != nil {
		s.metrics.authFailed(resultOf(err))
		code, msg, ok := refreshErrorCode(err)
		if !ok {
			s.log.Error().Err(err).Uint64("conn", c.id).Msg("auth.refresh")
			c.close(websocket.StatusInternalError, "internal error", false)
			return
		}
		c.sendError(m.ID, code, msg)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if id.SessionID != c.identity.SessionID {
		c.replyLocked(encodeFrame(errorFrame(m.ID, "session_mismatch", "the token belongs to another session")))
		return
	}
	c.identity = id
	c.scheduleExpiryLocked(s.opts.Now())
	c.replyLocked(encodeFrame(dataFrame("auth.refreshed", m.ID, struct {
		ExpiresAt time.Time `json:"expires_at"`
	}{id.ExpiresAt.UTC()})))
}

// armHeartbeatLocked schedules the next server ping, PingInterval after
// the last one. The first comes at a point of [PingInterval/2,
// PingInterval) picked by the socket's id (see firstHeartbeat), so that
// sockets opened together do not all ping together.
func (c *Conn) armHeartbeatLocked() {
	d := c.srv.opts.PingInterval
	if d <= 0 || c.stopped {
		return
	}
	if c.hbTimer == nil {
		c.hbTimer = time.AfterFunc(firstHeartbeat(d, c.id), c.heartbeat)
		return
	}
	c.hbTimer.Reset(d)
}

// firstHeartbeat is the delay of socket id's first heartbeat: interval/2
// plus a fraction of interval/2 taken from a Weyl sequence of the id
// (multiples of the golden ratio, modulo 1). Consecutive ids, the sockets
// of a burst of connections, land evenly spread over the half interval,
// with no random source and the same spread every time.
func firstHeartbeat(interval time.Duration, id uint64) time.Duration {
	const goldenRatio64 = 0x9E3779B97F4A7C15 // 2^64 / φ
	frac := float64(id*goldenRatio64) / (1 << 64)
	return interval/2 + time.Duration(frac*float64(interval/2))
}

// deadPeerCloseWait is how long the close frame to a peer that missed its
// heartbeat may take before the connection is dropped: the peer is dead or
// stuck, so its close reply is not awaited.
const deadPeerCloseWait = 250 * time.Millisecond

// heartbeat runs on the heartbeat timer's goroutine, which lives only for
// one round trip. Run at PingInterval, it pings the peer (unless a frame
// came from it less than PingInterval ago: then it runs again once the
// peer has been silent that long) and waits for the
// pong (read by the reader, which the Handler never blocks), with the timer
// set to PingTimeout; run by the timer while that ping still waits, the
// peer missed its heartbeat: 1001, and the connection is dropped
// deadPeerCloseWait after the close frame starts (which also ends the
// waiting ping). The timer is the ping's only deadline, so a heartbeat
// allocates no context and no second timer of its own.
func (c *Conn) heartbeat() {
	if !c.enter() {
		return
	}
	defer c.workers.Done()
	c.mu.Lock()
	if c.closing || c.stopped {
		c.mu.Unlock()
		return
	}
	if c.pinging {
		c.missedHeartbeatLocked(nil)
		c.mu.Unlock()
		return
	}
	if quiet := c.quietFor(); quiet < c.srv.opts.PingInterval {
		// A frame came from the peer less than PingInterval ago: it is
		// alive, so the ping waits until it has been silent that long (as
		// gRPC's keepalive pings only an idle transport). A half-open peer
		// is still closed within PingInterval + PingTimeout of its last
		// frame.
		c.hbTimer.Reset(c.srv.opts.PingInterval - quiet)
		c.mu.Unlock()
		return
	}
	c.pinging = true
	c.hbTimer.Reset(c.srv.opts.PingTimeout)
	c.mu.Unlock()

	// c.base never ends: Ping returns with the pong, or with an error once
	// the connection is closed.
	err := c.ws.Ping(c.base)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pinging = false
	if c.closing || c.stopped {
		return
	}
	if err != nil {
		c.missedHeartbeatLocked(err)
		return
	}
	c.armHeartbeatLocked()
}

// quietFor is how long ago the reader last read a frame from the peer;
// forever if it never did.
func (c *Conn) quietFor() time.Duration {
	at := c.heardAt.Load()
	if at == 0 {
		return time.Duration(1<<63 - 1)
	}
	return time.Since(c.srv.started) - time.Duration(at-1)
}

// missedHeartbeatLocked closes the socket of a peer that did not answer
// its heartbeat (err: why the ping failed, nil if it timed out). c.mu must
// be held.
func (c *Conn) missedHeartbeatLocked(err error) {
	ev := c.srv.log.Info().Uint64("conn", c.id)
	if err != nil {
		ev = ev.Err(err)
	}
	ev.Msg("missed heartbeat")
	c.closeLocked(websocket.StatusGoingAway, "missed heartbeat", false)
	c.closeDrop = true // under c.mu still: the writer reads it with the close
}

// scheduleExpiryLocked (re)starts the expiry timer for the current token:
// session.expiring at exp - min(60s, TTL/2), then 4004 at exp. TTL is the
// token's lifetime, exp - iat; without an iat, the time it has left.
func (c *Conn) scheduleExpiryLocked(now time.Time) {
	exp := c.identity.ExpiresAt
	if exp.IsZero() || c.stopped {
		return
	}
	ttl := exp.Sub(now)
	if iat := c.identity.IssuedAt; !iat.IsZero() {
		ttl = exp.Sub(iat)
	}
	c.warnAt = exp.Add(-min(time.Minute, ttl/2))
	// Once per token: an auth.refresh that presents the same token again
	// must not bring another warning (a client answering each warning with
	// its current token would otherwise loop).
	c.warned = c.warned && exp.Equal(c.warnedExp)
	d := c.warnAt.Sub(now)
	if c.expTimer == nil {
		c.expTimer = time.AfterFunc(d, c.expiryTick)
		return
	}
	c.expTimer.Reset(d)
}

// expiryTick runs on the expiry timer: it sends session.expiring once per
// token, and closes with 4004 at expiry, after what is queued.
func (c *Conn) expiryTick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.stopped {
		return
	}
	now := c.srv.opts.Now()
	exp := c.identity.ExpiresAt
	switch {
	case !now.Before(exp):
		c.closeLocked(StatusTokenExpired, "token expired", true)
	case now.Before(c.warnAt):
		c.expTimer.Reset(c.warnAt.Sub(now)) // a refresh moved the deadline
	default:
		if !c.warned {
			c.warned = true
			c.warnedExp = c.identity.ExpiresAt
			_ = c.sendLocked(encodeFrame(dataFrame("session.expiring", nil, struct {
				ExpiresAt time.Time `json:"expires_at"`
			}{exp.UTC()})))
		}
		c.expTimer.Reset(exp.Sub(now))
	}
}
