package gateway

import (
	"bufio"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/bigtwo/gateway/session"
)

// source is where a handshake's token came from.
type source struct {
	present bool   // a token source was found: its token is used even if bad
	name    string // "header", "subprotocol" or "query", for logs
	token   string // empty for a source that is present but carries no usable token
}

// handshake is what ServeHTTP learnt before the upgrade.
type handshake struct {
	source source
	id     session.Identity
	err    error // the handshake token's authentication error
	// authStart is when authentication began: a revocation at or after it
	// may have been missed by the registry, so admit checks.
	authStart time.Time
}

// tokenSource finds the handshake token, first source present wins:
// Authorization (a scheme other than Bearer counts as an invalid token),
// then a "bearer.<token>" subprotocol, then ?token=. None found means
// first-frame authentication.
func tokenSource(r *http.Request) source {
	if vals := r.Header.Values("Authorization"); len(vals) > 0 {
		scheme, tok, ok := strings.Cut(strings.TrimSpace(vals[0]), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return source{present: true, name: "header"}
		}
		return source{present: true, name: "header", token: strings.TrimSpace(tok)}
	}
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			p = strings.TrimSpace(p)
			if len(p) >= len(bearerProtocolPrefix) && strings.EqualFold(p[:len(bearerProtocolPrefix)], bearerProtocolPrefix) {
				return source{present: true, name: "subprotocol", token: p[len(bearerProtocolPrefix):]}
			}
		}
	}
	if q := r.URL.Query(); q.Has("token") {
		return source{present: true, name: "query", token: q.Get("token")}
	}
	return source{}
}

// headerHasToken reports whether the comma-separated header key contains
// token, case-insensitively.
func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// validKey reports whether k is a Sec-WebSocket-Key: 16 bytes in base64.
func validKey(k string) bool {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k))
	return err == nil && len(b) == 16
}

// hijackRecorder is the ResponseWriter given to websocket.Accept: it keeps
// the net.Conn that Accept hijacks, which coder/websocket does not expose,
// so that Conn.abort can drop a socket even while its close handshake runs.
//
// It also gives coder/websocket buffers of the socket's own sizes instead
// of net/http's: Hijack hands over the server's 4 KiB bufio.Reader and
// 4 KiB bufio.Writer, which coder/websocket keeps for the socket's whole
// life, 8 KiB of an idle socket's ~12 KiB of heap. Frames larger than a
// buffer are read and written past it, so small buffers cost only a
// syscall more for a large frame.
type hijackRecorder struct {
	http.ResponseWriter
	conn net.Conn
	// readBuf and writeBuf are the sizes of the buffers Hijack returns;
	// zero keeps net/http's.
	readBuf, writeBuf int
}

// Hijack implements http.Hijacker through the wrapped ResponseWriter.
func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	h.conn = nc
	if err != nil || h.readBuf <= 0 || h.writeBuf <= 0 || brw.Writer.Buffered() > 0 {
		return nc, brw, err // net/http flushes the 101 on Hijack: never buffered
	}
	// Bytes the client sent after its request (a pipelined first frame)
	// are in net/http's reader, which coder/websocket reads them from
	// first: that rare socket keeps it.
	br := brw.Reader
	if br.Buffered() == 0 {
		br = bufio.NewReaderSize(nc, h.readBuf)
	}
	return nc, bufio.NewReadWriter(br, bufio.NewWriterSize(nc, h.writeBuf)), nil
}

// Unwrap gives http.ResponseController the wrapped ResponseWriter.
func (h *hijackRecorder) Unwrap() http.ResponseWriter { return h.ResponseWriter }
