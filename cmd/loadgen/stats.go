package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// recorder collects latency samples and error kinds of one phase. It keeps
// every sample (8 bytes each: a million samples is 8 MB), so percentiles are
// exact. It is safe for concurrent use.
type recorder struct {
	mu      sync.Mutex
	samples []time.Duration
	errs    map[string]int64
	nerr    int64
}

// add records one successful operation that took d.
func (r *recorder) add(d time.Duration) {
	r.mu.Lock()
	r.samples = append(r.samples, d)
	r.mu.Unlock()
}

// fail records one failed operation, classified by errorKind.
func (r *recorder) fail(err error) { r.failKind(errorKind(err)) }

// failKind records one failed operation of kind k.
func (r *recorder) failKind(k string) {
	r.mu.Lock()
	if r.errs == nil {
		r.errs = make(map[string]int64)
	}
	r.errs[k]++
	r.nerr++
	r.mu.Unlock()
}

// counts returns how many successes and failures were recorded so far.
func (r *recorder) counts() (ok, failed int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return int64(len(r.samples)), r.nerr
}

// phase summarises what was recorded over elapsed.
func (r *recorder) phase(elapsed time.Duration) *phase {
	r.mu.Lock()
	s := slices.Clone(r.samples)
	errs := make(map[string]int64, len(r.errs))
	for k, v := range r.errs {
		errs[k] = v
	}
	nerr := r.nerr
	r.mu.Unlock()
	p := &phase{
		Count:   int64(len(s)),
		Errors:  nerr,
		Seconds: elapsed.Seconds(),
		Latency: summarize(s),
	}
	if len(errs) > 0 {
		p.ErrorKinds = errs
	}
	if elapsed > 0 {
		p.Rate = float64(p.Count) / elapsed.Seconds()
	}
	return p
}

// phase is the summary of one kind of operation: how many succeeded and
// failed, at what rate, with which latencies.
type phase struct {
	Count  int64 `json:"count"`
	Errors int64 `json:"errors"`
	// Sent is how many frames were sent (ping, delivery): for delivery
	// each reaches three other players.
	Sent       int64            `json:"sent,omitempty"`
	Lost       int64            `json:"lost,omitempty"`
	Seconds    float64          `json:"seconds"`
	Rate       float64          `json:"rate_per_s"`
	Latency    latency          `json:"latency_ms"`
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
}

// latency holds percentiles in milliseconds.
type latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// summarize computes the percentiles of samples (which it sorts in place).
func summarize(samples []time.Duration) latency {
	if len(samples) == 0 {
		return latency{}
	}
	slices.Sort(samples)
	var sum time.Duration
	for _, d := range samples {
		sum += d
	}
	return latency{
		P50:  ms(percentile(samples, 50)),
		P90:  ms(percentile(samples, 90)),
		P99:  ms(percentile(samples, 99)),
		Max:  ms(samples[len(samples)-1]),
		Mean: ms(sum / time.Duration(len(samples))),
	}
}

// percentile returns the nearest-rank p-th percentile of sorted: the
// smallest sample such that at least p% of the samples are at or below it.
// It returns 0 for no samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// The epsilon keeps float error (99.9/100*1000 = 999.0000000000001)
	// from moving the rank up by one.
	rank := int(math.Ceil(p*float64(len(sorted))/100 - 1e-9))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// ms converts d to fractional milliseconds, rounded to microseconds.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// errorKind names an error briefly, so that thousands of failures print as
// a few counted kinds: "close 4001", "http 429", "timeout", ...
func errorKind(err error) string {
	var se statusError
	var ne net.Error
	switch {
	case err == nil:
		return "none"
	case websocket.CloseStatus(err) != -1:
		return fmt.Sprintf("close %d", websocket.CloseStatus(err))
	case errors.As(err, &se):
		return fmt.Sprintf("http %d", int(se))
	case errors.Is(err, errLost):
		return "lost"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return "connection closed"
	}
	s := err.Error()
	switch {
	case strings.Contains(s, "connection refused"):
		return "connection refused"
	case strings.Contains(s, "connection reset"):
		return "connection reset"
	case strings.Contains(s, "too many open files"):
		return "too many open files"
	case strings.Contains(s, "cannot assign requested address"):
		return "out of local ports"
	case strings.Contains(s, "context deadline exceeded"):
		return "timeout"
	}
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// statusError is an unexpected HTTP status.
type statusError int

func (e statusError) Error() string { return fmt.Sprintf("unexpected HTTP status %d", int(e)) }

// errLost marks a frame that never arrived.
var errLost = errors.New("frame lost")

// summary is the result of one run, printed as text or JSON.
type summary struct {
	Mode    string    `json:"mode"`
	Target  string    `json:"target"`
	Started time.Time `json:"started"`
	Sockets int       `json:"sockets,omitempty"`
	Tables  int       `json:"tables,omitempty"`
	// Sessions is POST /session (the sessions mode, and the sessions each
	// socket needs in the other modes).
	Sessions *phase `json:"sessions,omitempty"`
	// Connect is dial + upgrade + authentication until the welcome frame.
	Connect *phase `json:"connect,omitempty"`
	// Hold is sockets lost while held: Count is those still open at the end.
	Hold *phase `json:"hold,omitempty"`
	// Burst is the -burst reconnects during the hold.
	Burst *burstStats `json:"burst,omitempty"`
	// Ping is application ping -> pong round trips.
	Ping *phase `json:"ping,omitempty"`
	// Join is room.join -> room.joined.
	Join *phase `json:"join,omitempty"`
	// Delivery is game frame send -> receipt by each other member.
	Delivery *phase `json:"delivery,omitempty"`
	// Refresh is POST /session/refresh and InBand auth.refresh ->
	// auth.refreshed (churn).
	Refresh *phase      `json:"refresh,omitempty"`
	InBand  *phase      `json:"in_band_refresh,omitempty"`
	Churn   *churnStats `json:"churn,omitempty"`
	// Play is the tables mode's Big Two play (tables.go).
	Play   *tablesPlay `json:"play,omitempty"`
	Memory *memory     `json:"memory,omitempty"`
	// CPU is the target's and the load tool's CPU time in each phase.
	CPU      *cpuStats `json:"cpu,omitempty"`
	Baseline *summary  `json:"baseline,omitempty"`
	// ConnectVsBaseline is Connect.Rate / Baseline.Connect.Rate.
	ConnectVsBaseline float64  `json:"connect_rate_vs_baseline,omitempty"`
	Notes             []string `json:"notes,omitempty"`

	pidErr error // why the target's pid is not known
}

// finish adds the notes on what could not be measured, here and in the
// baseline, once the run is over.
func (s *summary) finish() {
	if s.CPU != nil {
		s.Notes = append(s.Notes, s.CPU.notes(s.pidErr)...)
		if len(s.CPU.Phases) == 0 {
			s.CPU = nil
		}
	}
	if s.Baseline != nil {
		s.Baseline.finish()
	}
}

// writeText prints s for people.
func (s *summary) writeText(w io.Writer) {
	fmt.Fprintf(w, "mode %s against %s, started %s\n", s.Mode, s.Target, s.Started.Format(time.RFC3339))
	if s.Sockets > 0 {
		fmt.Fprintf(w, "sockets %d", s.Sockets)
		if s.Tables > 0 {
			fmt.Fprintf(w, " in %d tables of 4", s.Tables)
		}
		fmt.Fprintln(w)
	}
	rows := []struct {
		name string
		p    *phase
	}{
		{"sessions", s.Sessions}, {"connect", s.Connect}, {"hold", s.Hold},
		{"ping", s.Ping}, {"join", s.Join}, {"delivery", s.Delivery},
		{"refresh", s.Refresh}, {"in-band", s.InBand},
	}
	for _, r := range rows {
		r.p.writeRow(w, r.name, r.name == "delivery" || r.name == "ping")
		if r.name == "hold" {
			s.Burst.writeText(w)
		}
	}
	if s.Play != nil {
		s.Play.writeText(w)
	}
	if c := s.Churn; c != nil {
		refused := int64(0)
		for _, n := range c.Refusals {
			refused += n
		}
		fmt.Fprintf(w, "churn     clients %d -> %d -> %d, peak sockets %d, chats %d sent %d received\n",
			c.MinClients, c.PeakClients, c.MinClients, c.PeakSockets, c.ChatsSent, c.ChatsRecv)
		fmt.Fprintf(w, "refusals  %d in all, %d store timeouts, 503s %v\n", refused, c.StoreTimeouts, c.HTTP503)
		writeCounts(w, c.Refusals)
		if len(c.ClientErrors) > 0 {
			fmt.Fprintln(w, "client-side errors")
			writeCounts(w, c.ClientErrors)
		}
	}
	s.Memory.writeText(w)
	s.CPU.writeText(w)
	for _, n := range s.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if s.Baseline != nil {
		fmt.Fprintln(w, "--- baseline (bare coder/websocket server, same run) ---")
		s.Baseline.writeText(w)
		fmt.Fprintf(w, "--- connect rate vs baseline: %.2f×\n", s.ConnectVsBaseline)
	}
}

// writeCounts prints m's counts, one a line, sorted by key.
func writeCounts(w io.Writer, m map[string]int64) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "          %6d × %s\n", m[k], k)
	}
}

// writeRow prints p as one row named name (nothing if p is nil), with its
// lost frames when withLost, and its error kinds below.
func (p *phase) writeRow(w io.Writer, name string, withLost bool) {
	if p == nil {
		return
	}
	fmt.Fprintf(w, "%-9s %8d ok %6d errors", name, p.Count, p.Errors)
	if withLost {
		fmt.Fprintf(w, " %6d lost (of %d sent)", p.Lost, p.Sent)
	}
	if name != "hold" {
		fmt.Fprintf(w, "  %9.1f/s over %.2fs  latency ms p50 %.3f p90 %.3f p99 %.3f max %.3f",
			p.Rate, p.Seconds, p.Latency.P50, p.Latency.P90, p.Latency.P99, p.Latency.Max)
	}
	fmt.Fprintln(w)
	if len(p.ErrorKinds) > 0 {
		kinds := make([]string, 0, len(p.ErrorKinds))
		for k := range p.ErrorKinds {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			fmt.Fprintf(w, "          %6d × %s\n", p.ErrorKinds[k], k)
		}
	}
}
