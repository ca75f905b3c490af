package cluster

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the cluster's Prometheus collectors, on a registry the
// caller passes in (nil: not registered). They are safe for concurrent use.
type Metrics struct {
	connected prometheus.Gauge
	hosted    prometheus.Gauge
	forwarded prometheus.Counter
	takeovers prometheus.Counter
	handoffs  prometheus.Counter
	fenced    prometheus.Counter
}

// NewMetrics creates the collectors and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		connected: f.NewGauge(prometheus.GaugeOpts{Name: "gateway_cluster_nats_connected", Help: "1 while the NATS connection is up."}),
		hosted:    f.NewGauge(prometheus.GaugeOpts{Name: "gateway_cluster_rooms_hosted", Help: "Rooms this gateway hosts."}),
		forwarded: f.NewCounter(prometheus.CounterOpts{Name: "gateway_cluster_forwarded_frames_total", Help: "Frames forwarded to the gateway hosting their room."}),
		takeovers: f.NewCounter(prometheus.CounterOpts{Name: "gateway_cluster_takeovers_total", Help: "Rooms taken over from a gateway that died or handed them off."}),
		handoffs:  f.NewCounter(prometheus.CounterOpts{Name: "gateway_cluster_handoffs_total", Help: "Rooms handed to another gateway while draining."}),
		fenced:    f.NewCounter(prometheus.CounterOpts{Name: "gateway_cluster_fencing_refusals_total", Help: "Saves or take-overs refused because the room's revision moved (another gateway has it)."}),
	}
}
