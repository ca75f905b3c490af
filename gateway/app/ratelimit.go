package app

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/bigtwo/gateway/session"
)

// ipLimiter is a token bucket per client address. Idle buckets (full again)
// are forgotten, so its memory is bounded by the addresses active within
// one refill period. It is safe for concurrent use.
type ipLimiter struct {
	limit rate.Limit
	burst int
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastPrune time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newIPLimiter(limit rate.Limit, burst int, now func() time.Time) *ipLimiter {
	return &ipLimiter{limit: limit, burst: burst, now: now, buckets: make(map[string]*bucket)}
}

// refill is how long an idle bucket takes to fill up: after that it is the
// same as a new one and can be dropped.
func (l *ipLimiter) refill() time.Duration {
	if l.limit == rate.Inf || l.limit <= 0 {
		return 0
	}
	return time.Duration(float64(l.burst) / float64(l.limit) * float64(time.Second))
}

// allow takes a token for ip, or returns how long until one is available.
func (l *ipLimiter) allow(ip string) (bool, time.Duration) {
	if l.limit == rate.Inf {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
	b, ok := l.buckets[ip]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[ip] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// pruneLocked drops full buckets, at most once per refill period.
func (l *ipLimiter) pruneLocked(now time.Time) {
	idle := l.refill()
	if now.Sub(l.lastPrune) < idle {
		return
	}
	l.lastPrune = now
	for ip, b := range l.buckets {
		if now.Sub(b.seen) >= idle {
			delete(l.buckets, ip)
		}
	}
}

// size is how many buckets are held (for tests).
func (l *ipLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// rateLimit answers 429 rate_limited with Retry-After (whole seconds,
// rounded up) once ip's bucket is empty.
func rateLimit(l *ipLimiter, clientIP func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, wait := l.allow(clientIP(r))
		if !ok {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			session.WriteError(w, http.StatusTooManyRequests, "rate_limited", "too many requests from this address, retry later")
			return
		}
		next.ServeHTTP(w, r)
	})
}
