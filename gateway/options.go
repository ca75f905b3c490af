package gateway

import (
	"github.com/google/uuid"
	"net"
	"net/http"
	"runtime"
	"time"

	"golang.org/x/time/rate"
)

// Options tunes a Server. The zero value of every field means its default;
// defaults are applied in one place, withDefaults.
type Options struct {
	// AllowedOrigins are the host patterns of browser Origins allowed besides
	// the request's own host, as coder/websocket's OriginPatterns takes them
	// (path.Match, case-insensitive; a pattern with "://" also matches the
	// scheme). Empty means same host only. Requests without an Origin header
	// (non-browser clients) are always allowed.
	AllowedOrigins []string

	// AuthTimeout bounds first-frame authentication (no auth frame within it:
	// close 4002) and every call to the Authenticator. Defaults to 10s.
	AuthTimeout time.Duration

	// MaxMessageBytes is the read limit of an authenticated socket; a larger
	// message closes it with 1009. Until the welcome the limit is 8 KiB.
	// Defaults to 65536.
	MaxMessageBytes int64

	// MessageRate and MessageBurst bound the frames a socket may send (a
	// token bucket per socket); a socket over it is closed with 4029.
	// Default 50 per second with a burst of 100; rate.Inf turns it off.
	MessageRate  rate.Limit
	MessageBurst int

	// PingInterval is how long an authenticated socket may be silent (send
	// no frame) before the server's heartbeat pings it, and the time
	// between pings of a silent socket. A negative value turns heartbeats
	// off. Defaults to 25s.
	PingInterval time.Duration
	// PingTimeout is how long a peer has to answer a heartbeat before the
	// socket is closed with 1001. Defaults to 10s.
	PingTimeout time.Duration

	// WriteTimeout bounds the write of one frame; a peer that does not take
	// a frame within it is dropped. Defaults to 10s.
	WriteTimeout time.Duration

	// SendQueue is how many frames may wait for a slow client; one more
	// closes the socket with 1013 ("slow consumer"). Defaults to 64.
	//
	// Replies the gateway makes to the client's own frames (pong, error
	// frames, auth.refreshed) do not overflow: while the queue is full the
	// socket stops reading (for at most WriteTimeout). Frames pushed by
	// others (Conn.Send, session.expiring) do.
	SendQueue int

	// SendQueueBytes bounds the total size of the frames waiting for a
	// slow client, as SendQueue bounds their number; past it the socket is
	// closed with 1013. A frame that finds the queue empty is always
	// taken. Defaults to 1 MiB.
	SendQueueBytes int

	// ReadBufferSize and WriteBufferSize are the sizes of a socket's read
	// and write buffers, which it keeps for its whole life. A frame larger
	// than a buffer still passes, read or written past the buffer (one
	// more syscall). Default 1 KiB to read (client frames are small) and
	// 2 KiB to write (a Big Two game.state fits).
	ReadBufferSize, WriteBufferSize int

	// MaxSocketsPerPlayer caps the authenticated sockets of one player; a
	// socket past it is closed with 4008 and the others stay. Negative means
	// no limit. Defaults to 10.
	MaxSocketsPerPlayer int
	// PlayerSocketsElsewhere, if set, counts a player's sockets on the
	// other gateways of a cluster, so that MaxSocketsPerPlayer holds
	// cluster-wide (package gateway/cluster provides it).
	PlayerSocketsElsewhere func(player uuid.UUID) int

	// MaxPendingPerIP caps the sockets of one client address that are
	// upgraded but not yet welcomed; past it the upgrade is refused with
	// HTTP 429 too_many_pending. Negative means no limit. Defaults to 32.
	MaxPendingPerIP int

	// MaxPending caps the sockets of the whole process that are upgraded
	// but not yet welcomed (their handshake or first-frame authentication
	// running), whatever their addresses; past it the upgrade is refused
	// with HTTP 503 too_many_pending and Retry-After: 1, so that sockets
	// nobody authenticates cannot hold the process's memory and goroutines
	// (each ~24 KiB and a goroutine), however many addresses open them.
	// Negative means no limit. Defaults to 512 per CPU (GOMAXPROCS): an
	// honest socket is pending for one authentication (a store round trip,
	// milliseconds), and a core authenticates a few thousand sockets a
	// second, so 512 per core is far more than honest clients ever hold at
	// once and bounds what idle ones can take to about 12 MiB per core.
	MaxPending int

	// MaxSocketsPerIP caps all the sockets of one client address, pending
	// and authenticated; past it the upgrade is refused with HTTP 429
	// too_many_sockets. It bounds what one address can hold however many
	// sessions it makes; raise it for large NATs. Negative means no limit.
	// Defaults to 1000.
	MaxSocketsPerIP int

	// ClientIP names the client address of a request, for MaxPendingPerIP
	// and MaxSocketsPerIP.
	// Defaults to the host of r.RemoteAddr; behind a proxy, pass a function
	// that believes X-Forwarded-For only from trusted proxies.
	ClientIP func(*http.Request) string

	// Now is the clock used for expiry and rate limits. Defaults to time.Now.
	Now func() time.Time

	// Metrics receives the gateway's metrics. Defaults to NewMetrics(nil):
	// counted but not registered anywhere.
	Metrics *Metrics
}

// Internal limits that are not worth an option.
const (
	// preAuthReadLimit is the read limit until the welcome.
	preAuthReadLimit = 8 << 10
	// inboundQueue is how many routed frames (room.*, game.*, auth.refresh)
	// may wait for a busy Handler before the reader stops reading.
	inboundQueue = 64
	// maxPingData is the most data a pong echoes; a ping with more gets a
	// bad_request error frame instead, so that echoes cannot fill the send
	// queue with client-chosen bytes.
	maxPingData = 1 << 10
	// abortGrace is how long Shutdown waits, once its ctx has ended and
	// the remaining connections are dropped, for their goroutines and
	// Handler calls to return before it returns anyway.
	abortGrace = 500 * time.Millisecond
	// pendingPerCPU sizes the default MaxPending.
	pendingPerCPU = 512
	// subprotocol is what the server selects when the client offers it.
	subprotocol = "bigtwo.v1"
	// bearerProtocolPrefix marks the subprotocol that carries a token.
	bearerProtocolPrefix = "bearer."
)

// withDefaults returns o with every zero field set to its default.
// DefaultOptions returns the default of every setting that has one: the
// values the zero Options stands for, and the defaults the gateway's
// settings show. It is the only place they are written.
func DefaultOptions() Options {
	return Options{
		AuthTimeout:         10 * time.Second,
		MaxMessageBytes:     65536,
		MessageRate:         50,
		MessageBurst:        100,
		PingInterval:        25 * time.Second,
		PingTimeout:         10 * time.Second,
		WriteTimeout:        10 * time.Second,
		SendQueue:           64,
		SendQueueBytes:      1 << 20,
		ReadBufferSize:      1 << 10,
		WriteBufferSize:     2 << 10,
		MaxSocketsPerPlayer: 10,
		MaxPendingPerIP:     32,
		MaxPending:          pendingPerCPU * runtime.GOMAXPROCS(0),
		MaxSocketsPerIP:     1000,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.AuthTimeout <= 0 {
		o.AuthTimeout = d.AuthTimeout
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = d.MaxMessageBytes
	}
	if o.MessageRate == 0 {
		o.MessageRate = d.MessageRate
	}
	if o.MessageBurst <= 0 {
		o.MessageBurst = d.MessageBurst
	}
	if o.PingInterval == 0 {
		o.PingInterval = d.PingInterval
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = d.PingTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = d.WriteTimeout
	}
	if o.SendQueue <= 0 {
		o.SendQueue = d.SendQueue
	}
	if o.SendQueueBytes <= 0 {
		o.SendQueueBytes = d.SendQueueBytes
	}
	if o.ReadBufferSize <= 0 {
		o.ReadBufferSize = d.ReadBufferSize
	}
	if o.WriteBufferSize <= 0 {
		o.WriteBufferSize = d.WriteBufferSize
	}
	if o.MaxSocketsPerPlayer == 0 {
		o.MaxSocketsPerPlayer = d.MaxSocketsPerPlayer
	}
	if o.MaxPendingPerIP == 0 {
		o.MaxPendingPerIP = d.MaxPendingPerIP
	}
	if o.MaxPending == 0 {
		o.MaxPending = d.MaxPending
	}
	if o.MaxSocketsPerIP == 0 {
		o.MaxSocketsPerIP = d.MaxSocketsPerIP
	}
	if o.ClientIP == nil {
		o.ClientIP = remoteHost
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	return o
}

// remoteHost is the default ClientIP: the host part of r.RemoteAddr.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
