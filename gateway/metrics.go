package gateway

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"github.com/bigtwo/gateway/session"
	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the gateway's Prometheus collectors. Build them once per
// registry with NewMetrics and pass them in Options.Metrics; Servers that
// share one Metrics add up. They are safe for concurrent use.
//
// Every label value is known in advance, so every series exists (at zero)
// from the start and is resolved here once: counting a frame is one atomic
// add, with no allocation and no per-socket state.
type Metrics struct {
	sockets      prometheus.Gauge
	opens        [numPaths][numResults]prometheus.Counter
	authFailures [numResults]prometheus.Counter // nil for results that are not auth failures
	refusals     map[string]prometheus.Counter  // by refusal code; read-only after NewMetrics
	closes       map[websocket.StatusCode]prometheus.Counter
	closesOther  prometheus.Counter
	framesIn     [numFamilies]prometheus.Counter
	framesOut    [numFamilies]prometheus.Counter
	overflows    prometheus.Counter
}

// NewMetrics creates the collectors and registers them on reg (nil: not
// registered, for tests and tools). It panics if reg already holds them,
// as promauto does.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		sockets: f.NewGauge(prometheus.GaugeOpts{
			Name: "gateway_sockets",
			Help: "Live authenticated sockets (welcomed and not yet ended).",
		}),
		refusals: make(map[string]prometheus.Counter),
		closes:   make(map[websocket.StatusCode]prometheus.Counter),
		overflows: f.NewCounter(prometheus.CounterOpts{
			Name: "gateway_send_queue_overflows_total",
			Help: "Sockets closed with 1013 because their send queue was full (slow consumers).",
		}),
	}
	opens := f.NewCounterVec(prometheus.CounterOpts{
		Name: "gateway_socket_opens_total",
		Help: "Upgraded sockets by authentication path (header, subprotocol, query, frame) and result " +
			"(ok, missing_token, invalid_token, token_expired, session_revoked, session_expired, store_unavailable, " +
			"auth_timeout, too_many_sockets, draining, client_closed, protocol_error, error).",
	}, []string{"path", "result"})
	for p := range numPaths {
		for r := range numResults {
			m.opens[p][r] = opens.WithLabelValues(p.String(), r.String())
		}
	}
	failures := f.NewCounterVec(prometheus.CounterOpts{
		Name: "gateway_auth_failures_total",
		Help: "Failed socket authentications, at open on any path and by in-band auth.refresh, by reason " +
			"(missing_token, invalid_token, token_expired, session_revoked, session_expired, store_unavailable, " +
			"auth_timeout, error).",
	}, []string{"reason"})
	for r := range numResults {
		if r.authFailure() {
			m.authFailures[r] = failures.WithLabelValues(r.String())
		}
	}
	refusals := f.NewCounterVec(prometheus.CounterOpts{
		Name: "gateway_upgrade_refusals_total",
		Help: "Requests to GET /ws refused before the WebSocket upgrade, by reason (method_not_allowed, " +
			"upgrade_required, bad_request, origin_not_allowed, too_many_pending (per address), too_many_pending_server " +
			"(the process-wide cap), too_many_sockets, draining, error).",
	}, []string{"reason"})
	for _, r := range []string{"method_not_allowed", "upgrade_required", "bad_request", "origin_not_allowed",
		"too_many_pending", "too_many_pending_server", "too_many_sockets", "draining", "error"} {
		m.refusals[r] = refusals.WithLabelValues(r)
	}
	closes := f.NewCounterVec(prometheus.CounterOpts{
		Name: "gateway_socket_closes_total",
		Help: "Ended sockets by close code: the code the server closed with, else the client's; 1006 when " +
			"the connection dropped without a close frame; other for codes outside the protocol.",
	}, []string{"code"})
	for _, c := range []websocket.StatusCode{
		websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusProtocolError,
		websocket.StatusUnsupportedData, websocket.StatusNoStatusRcvd, websocket.StatusAbnormalClosure,
		websocket.StatusInvalidFramePayloadData, websocket.StatusPolicyViolation, websocket.StatusMessageTooBig,
		websocket.StatusMandatoryExtension, websocket.StatusInternalError, websocket.StatusServiceRestart,
		websocket.StatusTryAgainLater, websocket.StatusBadGateway,
		StatusInvalidToken, StatusAuthTimeout, StatusRevoked, StatusTokenExpired, StatusTooManySockets,
		StatusRateLimited,
	} {
		m.closes[c] = closes.WithLabelValues(strconv.Itoa(int(c)))
	}
	m.closesOther = closes.WithLabelValues("other")
	in := f.NewCounterVec(prometheus.CounterOpts{
		Name: "gateway_frames_received_total",
		Help: "Frames read from clients by type family (room, game, ping, pong, auth, session, welcome, error, " +
			"other): the type up to its first dot; binary and undecodable frames are other.",
	}, []string{"family"})
	out := f.NewCounterVec(prometheus.CounterOpts{
		Name: "gateway_frames_sent_total",
		Help: "Frames written to clients by type family (room, game, ping, pong, auth, session, welcome, error, " +
			"other): the type up to its first dot.",
	}, []string{"family"})
	for fam := range numFamilies {
		m.framesIn[fam] = in.WithLabelValues(fam.String())
		m.framesOut[fam] = out.WithLabelValues(fam.String())
	}
	return m
}

// opened records how an upgraded socket's authentication ended, and counts
// an authentication failure when it was one.
func (m *Metrics) opened(p authPath, r openResult) {
	m.opens[p][r].Inc()
	m.authFailed(r)
}

// authFailed counts r if it is an authentication failure.
func (m *Metrics) authFailed(r openResult) {
	if c := m.authFailures[r]; c != nil {
		c.Inc()
	}
}

// refused counts an upgrade refused with the error code of its JSON body.
func (m *Metrics) refused(code string) {
	c, ok := m.refusals[code]
	if !ok {
		c = m.refusals["error"]
	}
	c.Inc()
}

// closed counts a socket that ended with code.
func (m *Metrics) closed(code websocket.StatusCode) {
	c, ok := m.closes[code]
	if !ok {
		c = m.closesOther
	}
	c.Inc()
}

func (m *Metrics) received(f family) { m.framesIn[f].Inc() }
func (m *Metrics) sent(f family)     { m.framesOut[f].Inc() }
func (m *Metrics) overflowed()       { m.overflows.Inc() }

// authPath is where a socket's token came from: the label "path".
type authPath uint8

const (
	pathHeader authPath = iota
	pathSubprotocol
	pathQuery
	pathFrame
	numPaths
)

func (p authPath) String() string {
	switch p {
	case pathHeader:
		return "header"
	case pathSubprotocol:
		return "subprotocol"
	case pathQuery:
		return "query"
	default:
		return "frame"
	}
}

// path is the authentication path of a handshake: its token source, or the
// first frame when it has none.
func (hs handshake) path() authPath {
	if !hs.source.present {
		return pathFrame
	}
	switch hs.source.name {
	case "header":
		return pathHeader
	case "subprotocol":
		return pathSubprotocol
	default:
		return pathQuery
	}
}

// openResult is how a socket's authentication ended: the label "result"
// of opens and, for failures, "reason" of auth failures.
type openResult uint8

const (
	resultOK openResult = iota
	resultMissingToken
	resultInvalidToken
	resultTokenExpired
	resultSessionRevoked
	resultSessionExpired
	resultStoreUnavailable
	resultAuthTimeout
	resultTooManySockets // authenticated, refused with 4008
	resultDraining       // upgraded while the server started draining
	resultClientClosed   // the client left before authenticating
	resultProtocolError  // oversize, invalid UTF-8 or a protocol violation before authenticating
	resultError          // an Authenticator error outside the contract (1011)
	numResults
)

func (r openResult) String() string {
	switch r {
	case resultOK:
		return "ok"
	case resultMissingToken:
		return "missing_token"
	case resultInvalidToken:
		return "invalid_token"
	case resultTokenExpired:
		return "token_expired"
	case resultSessionRevoked:
		return "session_revoked"
	case resultSessionExpired:
		return "session_expired"
	case resultStoreUnavailable:
		return "store_unavailable"
	case resultAuthTimeout:
		return "auth_timeout"
	case resultTooManySockets:
		return "too_many_sockets"
	case resultDraining:
		return "draining"
	case resultClientClosed:
		return "client_closed"
	case resultProtocolError:
		return "protocol_error"
	default:
		return "error"
	}
}

// authFailure reports whether r is a failed authentication (as opposed to
// success, a refusal of an authenticated socket, or a client that left).
func (r openResult) authFailure() bool {
	switch r {
	case resultOK, resultTooManySockets, resultDraining, resultClientClosed, resultProtocolError:
		return false
	}
	return true
}

// resultOf maps an authentication error to its result, in closeCode's
// order.
func resultOf(err error) openResult {
	if c, ok := session.CodeOf(err); ok {
		for r := range numResults {
			if r.String() == c.Name {
				return r
			}
		}
	}
	return resultError
}

// unauthenticatedEnd is the result of a socket that ended before its
// authentication finished, from its read error and the close the server
// requested: none means the client left.
func unauthenticatedEnd(c *Conn, readErr error) openResult {
	if errors.Is(readErr, websocket.ErrMessageTooBig) {
		return resultProtocolError // whatever a drain requested meanwhile
	}
	switch c.requestedClose() {
	case 0:
		return resultClientClosed
	case StatusAuthTimeout:
		return resultAuthTimeout
	case websocket.StatusGoingAway:
		return resultDraining
	default:
		return resultProtocolError
	}
}

// family is a frame type's family, the label "family": the type up to its
// first dot, from a fixed set so that clients cannot mint label values.
type family uint8

const (
	famRoom family = iota
	famGame
	famPing
	famPong
	famAuth
	famSession
	famWelcome
	famError
	famOther
	numFamilies
)

func (f family) String() string {
	switch f {
	case famRoom:
		return "room"
	case famGame:
		return "game"
	case famPing:
		return "ping"
	case famPong:
		return "pong"
	case famAuth:
		return "auth"
	case famSession:
		return "session"
	case famWelcome:
		return "welcome"
	case famError:
		return "error"
	default:
		return "other"
	}
}

// maxFamilyLen is the length of the longest family name: a longer prefix
// is other without looking further.
const maxFamilyLen = len("session")

// typeFamily is the family of frame type typ.
func typeFamily(typ string) family {
	if i := strings.IndexByte(typ, '.'); i >= 0 {
		typ = typ[:i]
	}
	if len(typ) > maxFamilyLen {
		return famOther
	}
	switch typ {
	case "room":
		return famRoom
	case "game":
		return famGame
	case "ping":
		return famPing
	case "pong":
		return famPong
	case "auth":
		return famAuth
	case "session":
		return famSession
	case "welcome":
		return famWelcome
	case "error":
		return famError
	}
	return famOther
}

// encodedFamily is the family of a frame rendered by encodeFrame, read from
// its bytes so that the send queue need not remember it. A type that needed
// escaping is other.
func encodedFamily(b []byte) family {
	const prefix = `{"type":"`
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return famOther
	}
	b = b[len(prefix):]
	i := bytes.IndexAny(b, `."\`)
	if i < 0 || i > maxFamilyLen || b[i] == '\\' {
		return famOther
	}
	return typeFamily(string(b[:i]))
}
