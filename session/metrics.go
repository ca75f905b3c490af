package session

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the session service's Prometheus collectors. Build them once
// per registry with NewMetrics; they are safe for concurrent use.
type Metrics struct {
	created      *prometheus.CounterVec
	refreshed    prometheus.Counter
	refreshFails *prometheus.CounterVec
	revoked      *prometheus.CounterVec
	storeOps     *prometheus.HistogramVec
	validations  *prometheus.CounterVec
	remembered   prometheus.Gauge
}

// The paths of a validation, in gateway_session_validations_total.
const (
	pathFast  = "fast"  // Authenticate's fast path: the token and the revoked set
	pathStore = "store" // the session row in the store
)

// NewMetrics creates the collectors and registers them on reg (nil: not
// registered, for tests and tools).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		created: f.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_sessions_created_total",
			Help: "Sessions created, by kind: new_player or new_device.",
		}, []string{"kind"}),
		refreshed: f.NewCounter(prometheus.CounterOpts{
			Name: "gateway_sessions_refreshed_total",
			Help: "Successful refresh-token rotations.",
		}),
		refreshFails: f.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_session_refresh_failures_total",
			Help: "Refused refreshes, by reason (invalid_token, refresh_token_reused, session_revoked, session_expired, store_unavailable).",
		}, []string{"reason"}),
		revoked: f.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_sessions_revoked_total",
			Help: "Sessions revoked by this process, by reason.",
		}, []string{"reason"}),
		storeOps: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_store_operation_duration_seconds",
			Help:    "Latency of session store calls, by operation and result (ok, not_found, unavailable, error).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"operation", "result"}),
		validations: f.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_session_validations_total",
			Help: "Validations of verified access tokens, by path (fast: the socket fast path, no store call; store: the session row) and result (ok, session_revoked, session_expired, invalid_token, store_unavailable, error).",
		}, []string{"path", "result"}),
		remembered: f.NewGauge(prometheus.GaugeOpts{
			Name: "gateway_session_revocations_remembered",
			Help: "Revoked sessions the socket fast path remembers (each for the token lifetime plus a minute).",
		}),
	}
}

// validated counts one validation of a verified token on path.
func (m *Metrics) validated(path string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
		if c, ok := CodeOf(err); ok {
			result = c.Name
		}
	}
	m.validations.WithLabelValues(path, result).Inc()
}

// storeDone records one store call that began at start.
func (m *Metrics) storeDone(op string, start time.Time, err error) {
	result := "ok"
	if err != nil {
		result = "error"
		if c, ok := CodeOf(err); ok {
			result = c.Outcome
		}
	}
	m.storeOps.WithLabelValues(op, result).Observe(time.Since(start).Seconds())
}

func (m *Metrics) refreshFailed(err error) {
	reason := "error"
	if c, ok := CodeOf(err); ok {
		reason = c.Name
	}
	m.refreshFails.WithLabelValues(reason).Inc()
}
