package gateway

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

// Revocations are remembered for revokedTTL, and the memory is pruned at
// most once per revokedPrune, so that a burst of revocations is linear.
func TestRegistryRevokedPruning(t *testing.T) {
	r := newRegistry(prometheus.NewGauge(prometheus.GaugeOpts{Name: "test_sockets"}))
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	old := uuid.New()
	r.revoke(old, t0)

	// A burst at one instant: 100,000 revocations would take minutes if
	// each scanned all the others.
	burst := t0.Add(revokedTTL + time.Second)
	r.revoke(uuid.New(), burst) // prunes old
	if _, ok := r.revoked[old]; ok {
		t.Fatalf("revocation older than %v kept", revokedTTL)
	}
	for range 100000 {
		r.revoke(uuid.New(), burst)
	}
	if got := len(r.revoked); got != 100001 {
		t.Fatalf("len(revoked) = %d, want 100001", got)
	}

	// Within revokedPrune of the last scan, nothing is scanned; after it,
	// the expired entries go.
	late := burst.Add(revokedTTL + time.Second)
	r.lastPrune = late.Add(-revokedPrune / 2)
	r.revoke(uuid.New(), late)
	if got := len(r.revoked); got != 100002 {
		t.Fatalf("len(revoked) = %d after a revocation within %v of the last prune, want 100002", got, revokedPrune)
	}
	r.revoke(uuid.New(), late.Add(revokedPrune))
	if got := len(r.revoked); got != 2 {
		t.Fatalf("len(revoked) = %d after a prune, want the 2 recent ones", got)
	}
}

func BenchmarkRegistryRevokeBurst(b *testing.B) {
	r := newRegistry(prometheus.NewGauge(prometheus.GaugeOpts{Name: "bench_sockets"}))
	now := time.Now()
	for b.Loop() {
		r.revoke(uuid.New(), now)
	}
}
