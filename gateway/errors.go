package gateway

import (
	"errors"
	"strings"

	"github.com/bigtwo/gateway/session"
	"github.com/coder/websocket"
)

// Close codes of the contract that coder/websocket does not name.
const (
	StatusInvalidToken   websocket.StatusCode = 4001 // missing or invalid token, or a first frame that is not auth
	StatusAuthTimeout    websocket.StatusCode = 4002 // no auth frame within the auth timeout
	StatusRevoked        websocket.StatusCode = 4003 // session revoked
	StatusTokenExpired   websocket.StatusCode = 4004 // access token expired and not refreshed in band
	StatusTooManySockets websocket.StatusCode = 4008 // too many sockets for this player
	StatusRateLimited    websocket.StatusCode = 4029 // message rate limit exceeded
)

// Errors a Conn reports.
var (
	// ErrSlowConsumer is returned by Conn.Send when the send queue is full;
	// the socket is being closed with 1013.
	ErrSlowConsumer = errors.New("gateway: slow consumer")
)

// closeCode maps an authentication error to the close code and short reason
// the client sees. It is the only such mapping; unknown errors are 1011 and
// their detail goes to the log.
func closeCode(err error) (websocket.StatusCode, string) {
	c, ok := session.CodeOf(err)
	switch {
	case ok && c.Unauthorized():
		return StatusInvalidToken, strings.ReplaceAll(c.Name, "_", " ")
	case ok && c.Err == session.ErrUnavailable:
		return websocket.StatusTryAgainLater, "store unavailable"
	default:
		return websocket.StatusInternalError, "internal error"
	}
}

// refreshErrorCode maps an auth.refresh failure to an error frame's code and
// message; ok is false for errors the contract has no frame for.
func refreshErrorCode(err error) (code, message string, ok bool) {
	if errors.Is(err, session.ErrUnavailable) {
		return "store_unavailable", "session store unavailable, try again", true
	}
	if c, reason := closeCode(err); c == StatusInvalidToken {
		return "invalid_token", reason, true
	}
	return "", "", false
}
