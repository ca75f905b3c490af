package app

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/bigtwo/gateway/store/postgres"
)

// newRegistry is the process's own Prometheus registry (never the global
// one), with the Go runtime and process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// registerPoolMetrics exports the PostgreSQL pool's state, read from stat
// at each scrape: whether store calls wait for a connection, and how long.
func registerPoolMetrics(reg prometheus.Registerer, stat func() postgres.PoolStat) {
	conns := func(state string, f func(postgres.PoolStat) int32) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "gateway_db_pool_connections",
			Help:        "PostgreSQL pool connections by state: idle, acquired (a store call holds it), constructing.",
			ConstLabels: prometheus.Labels{"state": state},
		}, func() float64 { return float64(f(stat())) })
	}
	counter := func(name, help string, f func(postgres.PoolStat) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return f(stat()) })
	}
	reg.MustRegister(
		conns("idle", func(s postgres.PoolStat) int32 { return s.IdleConns }),
		conns("acquired", func(s postgres.PoolStat) int32 { return s.AcquiredConns }),
		conns("constructing", func(s postgres.PoolStat) int32 { return s.ConstructingConns }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gateway_db_pool_max_connections",
			Help: "The PostgreSQL pool's size (GATEWAY_DB_MAX_CONNS).",
		}, func() float64 { return float64(stat().MaxConns) }),
		counter("gateway_db_pool_acquires_total", "Pool connections acquired by store calls.",
			func(s postgres.PoolStat) float64 { return float64(s.AcquireCount) }),
		counter("gateway_db_pool_acquire_waits_total", "Acquisitions that found no idle connection and waited for one.",
			func(s postgres.PoolStat) float64 { return float64(s.EmptyAcquireCount) }),
		counter("gateway_db_pool_acquire_cancels_total", "Acquisitions given up while waiting (the store timeout or the caller).",
			func(s postgres.PoolStat) float64 { return float64(s.CanceledAcquireCount) }),
		counter("gateway_db_pool_acquire_seconds_total", "Time store calls spent acquiring a connection, waits included.",
			func(s postgres.PoolStat) float64 { return s.AcquireDuration.Seconds() }),
	)
}

func handleMetrics(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// httpMetrics counts requests by route (the mux pattern) and status, and
// times them.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	f := promauto.With(reg)
	return &httpMetrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_http_requests_total",
			Help: "HTTP requests by route (mux pattern, or \"unmatched\") and status.",
		}, []string{"route", "status"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_http_request_duration_seconds",
			Help:    "HTTP request latency by route (WebSocket upgrades excluded: a socket's life is not a request).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
	}
}

// observe wraps next (the whole handler chain) with the access log and the
// HTTP metrics. The access log shows the path only, never the query, which
// may hold ?token=.
func observe(m *httpMetrics, clientIP func(*http.Request) string, log zerolog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		elapsed := time.Since(start)
		// The mux records the pattern it matched on r itself, so the route
		// is known without matching again.
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		if sw.status != http.StatusSwitchingProtocols {
			m.duration.WithLabelValues(route).Observe(elapsed.Seconds())
		}
		log.Info().
			Str("method", r.Method).
			Str("path", r.URL.Path).
			Str("route", route).
			Int("status", sw.status).
			Dur("duration", elapsed).
			Str("ip", clientIP(r)).
			Msg("request")
	})
}
