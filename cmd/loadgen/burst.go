package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// The -burst option of a hold (connect, baseline): once the sockets are
// held, N of them are closed at once and their clients all dial again
// within one second, as the clients of a gateway that died do when they
// come to this one. Closing runs the close handshake (1000), so that the
// target has let the sockets go before the reconnects start and the two
// show as separate CPU phases, "close" and "reconnect". The reconnects use
// the sockets' own access tokens, so each is authenticated by the store
// again.

// burstSpread is the time over which a burst's dials are started.
const burstSpread = time.Second

// burstStats is what a burst measured.
type burstStats struct {
	// Sockets is how many held sockets were closed and dialed again.
	Sockets int `json:"sockets"`
	// At is when the burst began, in seconds after all sockets were open.
	At float64 `json:"at_s"`
	// CloseSeconds is how long closing them took, handshakes included;
	// CloseErrors counts closes that failed.
	CloseSeconds float64 `json:"close_seconds"`
	CloseErrors  int64   `json:"close_errors,omitempty"`
	// SpreadSeconds is the time over which the dials were started.
	SpreadSeconds float64 `json:"spread_seconds"`
	// Reconnect is dial + upgrade + authentication until the welcome frame
	// of each: latencies of those back, failures by what the target
	// answered ("close 1013 store unavailable", "http 503
	// too_many_pending", "timeout", ...). Its rate is over AllBackSeconds.
	Reconnect *phase `json:"reconnect"`
	// AllBackSeconds is from the first dial to the last answer (welcome
	// or failure).
	AllBackSeconds float64 `json:"all_back_seconds"`
	// StoreTimeouts counts the answers that say the session store did not
	// answer in time: close 1013 and HTTP 503 store_unavailable.
	StoreTimeouts int64 `json:"store_timeouts"`
}

// burst closes n of f's open sockets (the first n) and dials them again
// with their tokens, the dials spread over burstSpread; it records the
// "close" and "reconnect" CPU phases in sum. at is when it begins, after
// all sockets were open.
func (lg *loadgen) burst(ctx context.Context, sum *summary, f *fleet, wsURL string, tokens []string, n int, at time.Duration) *burstStats {
	idx := openIndexes(f)
	if len(idx) < n {
		sum.Notes = append(sum.Notes, fmt.Sprintf("-burst %d: only %d sockets open, burst of %d", n, len(idx), len(idx)))
		n = len(idx)
	}
	idx = idx[:n]
	b := &burstStats{Sockets: n, At: math.Round(at.Seconds()*10) / 10, SpreadSeconds: burstSpread.Seconds()}

	var closeErrs atomic.Int64
	lg.setStatus(func() string { return fmt.Sprintf("burst: closing %d of %d open", n, f.open.Load()) })
	cpu0 := sum.CPU.read()
	start := time.Now()
	parallel(ctx, n, n, func(k int) {
		if err := f.retire(idx[k], "burst"); err != nil {
			closeErrs.Add(1)
		}
	})
	b.CloseSeconds = math.Round(time.Since(start).Seconds()*1000) / 1000
	b.CloseErrors = closeErrs.Load()
	cpu1 := sum.CPU.phase("close", cpu0, int64(n)-b.CloseErrors, "socket closed")

	var rec recorder
	var timeouts atomic.Int64
	lg.setStatus(func() string {
		ok, failed := rec.counts()
		return fmt.Sprintf("burst: %d/%d back, %d failed, %d open", ok, n, failed, f.open.Load())
	})
	// jobs has room for every dial: the pacer never blocks.
	jobs := make(chan int64, n)
	var dials, spawner sync.WaitGroup
	spawner.Go(func() {
		for seq := range jobs {
			dials.Go(func() {
				i := idx[seq]
				t0 := time.Now()
				ws, err := lg.dial(f.ctx, lg.ws, wsURL, tokens[i])
				if err != nil {
					rec.failKind(refusalKind(err))
					if isStoreTimeout(err) {
						timeouts.Add(1)
					}
					return
				}
				rec.add(time.Since(t0))
				f.adopt(i, ws)
			})
		}
	})
	start = time.Now()
	issue(ctx, jobs, float64(n)/burstSpread.Seconds(), burstSpread)
	close(jobs)
	spawner.Wait()
	dials.Wait()
	back := time.Since(start)
	b.AllBackSeconds = math.Round(back.Seconds()*1000) / 1000
	b.Reconnect = rec.phase(back)
	b.StoreTimeouts = timeouts.Load()
	sum.CPU.phase("reconnect", cpu1, b.Reconnect.Count, "reconnect")
	return b
}

// refusalKind names a failed dial by what the target answered: the close
// code with its reason, the HTTP status with its error code, or else the
// errorKind.
func refusalKind(err error) string {
	var ce websocket.CloseError
	var ru *refusedUpgrade
	switch {
	case errors.As(err, &ce):
		return fmt.Sprintf("close %d %s", ce.Code, ce.Reason)
	case errors.As(err, &ru) && ru.code != "":
		return fmt.Sprintf("http %d %s", ru.status, ru.code)
	}
	return errorKind(err)
}

// isStoreTimeout reports whether a failed dial says the session store did
// not answer in time: the gateway closes with 1013 "store unavailable"
// when authentication times out, and the HTTP API answers 503
// store_unavailable. (An HTTP 503 too_many_pending at the upgrade is the
// gateway's own cap on unauthenticated sockets, not the store.)
func isStoreTimeout(err error) bool {
	var ru *refusedUpgrade
	switch {
	case websocket.CloseStatus(err) == websocket.StatusTryAgainLater:
		return true
	case errors.As(err, &ru):
		return ru.status == http.StatusServiceUnavailable && ru.code == "store_unavailable"
	}
	return false
}

// writeText prints the burst (nothing if nil).
func (b *burstStats) writeText(w io.Writer) {
	if b == nil {
		return
	}
	fmt.Fprintf(w, "burst     %d sockets closed at +%.1fs in %.3fs (%d close errors), dialed again over %gs: %d back, all answered %.3fs after the first dial, %d store timeouts\n",
		b.Sockets, b.At, b.CloseSeconds, b.CloseErrors, b.SpreadSeconds, b.Reconnect.Count, b.AllBackSeconds, b.StoreTimeouts)
	b.Reconnect.writeRow(w, "reconnect", false)
}
