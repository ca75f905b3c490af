package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"
)

// memory is what the target process's resident set did during the run.
type memory struct {
	// Source says where the figures come from: "metrics" (the target's
	// process_resident_memory_bytes) or "proc" (/proc/<pid>/status).
	Source string `json:"source"`
	// Sockets is how many sockets the growth is divided by.
	Sockets int `json:"sockets"`
	// Before is the RSS before the first socket, Connected once all are
	// open, End after what EndAfter names: the hold (connect, baseline),
	// the pings, the relay (rooms) or the play (tables), the sockets still
	// open.
	Before    int64  `json:"rss_before_bytes"`
	Connected int64  `json:"rss_connected_bytes"`
	End       int64  `json:"rss_end_bytes"`
	EndAfter  string `json:"end_after"`
	// PerSocketConnected and PerSocketEnd are the growth from Before, per
	// socket, in KiB.
	PerSocketConnected float64 `json:"per_socket_connected_kib"`
	PerSocketEnd       float64 `json:"per_socket_end_kib"`
	// Goroutines, when the target exports go_goroutines.
	GoroutinesBefore int64 `json:"goroutines_before,omitempty"`
	GoroutinesEnd    int64 `json:"goroutines_end,omitempty"`
	// The Go runtime's heap and stack in use, when the target exports
	// go_memstats_*, and their growth per socket at the end, in KiB.
	HeapBefore        int64   `json:"heap_inuse_before_bytes,omitempty"`
	HeapEnd           int64   `json:"heap_inuse_end_bytes,omitempty"`
	StackBefore       int64   `json:"stack_inuse_before_bytes,omitempty"`
	StackEnd          int64   `json:"stack_inuse_end_bytes,omitempty"`
	HeapPerSocketEnd  float64 `json:"heap_per_socket_end_kib,omitempty"`
	StackPerSocketEnd float64 `json:"stack_per_socket_end_kib,omitempty"`
	// GCsBefore is go_gc_duration_seconds_count before the first socket,
	// when the target exports it.
	GCsBefore int64 `json:"gc_cycles_before,omitempty"`
	// Samples are every reading from Connected to End, in order: during a
	// hold (connect, baseline) also 5 s after all sockets were open and
	// every -sample; in tables also once all are seated and dealt.
	Samples []memSample `json:"samples,omitempty"`
}

// memSample is one reading of the target's memory after the sockets
// were open, with its growth from before the first socket per socket then
// open, in KiB.
type memSample struct {
	// Label is "connected", "+5s", "+30s", ..., "seated", "after hold".
	Label string `json:"label"`
	// At is the seconds since all sockets were open.
	At   float64 `json:"at_s"`
	Open int64   `json:"sockets_open"`
	RSS  int64   `json:"rss_bytes"`
	// PerSocket is the RSS growth per open socket.
	PerSocket      float64 `json:"per_socket_kib"`
	HeapInuse      int64   `json:"heap_inuse_bytes,omitempty"`
	StackInuse     int64   `json:"stack_inuse_bytes,omitempty"`
	HeapPerSocket  float64 `json:"heap_per_socket_kib,omitempty"`
	StackPerSocket float64 `json:"stack_per_socket_kib,omitempty"`
	Goroutines     int64   `json:"goroutines,omitempty"`
	// GCs is the target's go_gc_duration_seconds_count, the GC cycles it
	// has run since it started: the Go runtime forces one when none ran
	// for 2 minutes.
	GCs int64 `json:"gc_cycles,omitempty"`
}

// perSocketKiB is the growth from before to after over n sockets, in KiB
// to one decimal; 0 when either reading is missing.
func perSocketKiB(before, after int64, n int64) float64 {
	if before == 0 || after == 0 || n <= 0 {
		return 0
	}
	return math.Round(float64(after-before)/float64(n)/1024*10) / 10
}

// finish computes the per-socket figures.
func (m *memory) finish() {
	n := int64(m.Sockets)
	m.PerSocketConnected = perSocketKiB(m.Before, m.Connected, n)
	m.PerSocketEnd = perSocketKiB(m.Before, m.End, n)
	m.HeapPerSocketEnd = perSocketKiB(m.HeapBefore, m.HeapEnd, n)
	m.StackPerSocketEnd = perSocketKiB(m.StackBefore, m.StackEnd, n)
	for i := range m.Samples {
		s := &m.Samples[i]
		s.PerSocket = perSocketKiB(m.Before, s.RSS, s.Open)
		s.HeapPerSocket = perSocketKiB(m.HeapBefore, s.HeapInuse, s.Open)
		s.StackPerSocket = perSocketKiB(m.StackBefore, s.StackInuse, s.Open)
	}
}

// writeText prints m (nothing if nil): one line, and the samples as a
// table when there are more than the connected and end readings.
func (m *memory) writeText(w io.Writer) {
	if m == nil {
		return
	}
	fmt.Fprintf(w, "memory (%s): RSS %s before, %s connected, %s after %s; per socket %.1f KiB connected, %.1f KiB after %s",
		m.Source, mib(m.Before), mib(m.Connected), mib(m.End), m.EndAfter, m.PerSocketConnected, m.PerSocketEnd, m.EndAfter)
	if m.HeapEnd > 0 {
		fmt.Fprintf(w, "; of which Go heap in use %.1f KiB, stacks %.1f KiB", m.HeapPerSocketEnd, m.StackPerSocketEnd)
	}
	if m.GoroutinesEnd > 0 {
		fmt.Fprintf(w, "; goroutines %d -> %d", m.GoroutinesBefore, m.GoroutinesEnd)
	}
	fmt.Fprintln(w)
	if len(m.Samples) <= 2 {
		return
	}
	fmt.Fprintln(w, "          readings; KiB columns are the growth since before the first socket, per socket open then:")
	fmt.Fprintf(w, "          %-11s %7s %7s %9s %8s %9s %9s %11s %5s\n",
		"at", "s", "open", "RSS MiB", "RSS KiB", "heap KiB", "stack KiB", "goroutines", "GCs")
	for _, s := range m.Samples {
		fmt.Fprintf(w, "          %-11s %7.1f %7d %9.1f %8.1f %9s %9s %11s %5s\n",
			s.Label, s.At, s.Open, float64(s.RSS)/(1<<20), s.PerSocket,
			orDash(s.HeapInuse, s.HeapPerSocket), orDash(s.StackInuse, s.StackPerSocket), countOrDash(s.Goroutines), countOrDash(s.GCs))
	}
}

// orDash formats v to one decimal, or "-" when raw is missing.
func orDash(raw int64, v float64) string {
	if raw == 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// countOrDash formats n, or "-" when it is not positive.
func countOrDash(n int64) string {
	if n <= 0 {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}

// mib formats bytes as MiB.
func mib(b int64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

// settle is when, after all sockets are open, a hold first reads the
// target's memory: once the connect burst's garbage is collected.
const settle = 5 * time.Second

// holdPoints returns when, after all sockets are open, a hold of d reads
// the target's memory before its end: at settle and every every (none
// when 0), sorted, each before d.
func holdPoints(d, every time.Duration) []time.Duration {
	var out []time.Duration
	if settle < d {
		out = append(out, settle)
	}
	for p := every; every > 0 && p < d; p += every {
		out = append(out, p)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// holdLabel names the reading at p after all sockets were open: "+5s".
func holdLabel(p time.Duration) string {
	return "+" + strconv.FormatFloat(p.Seconds(), 'f', -1, 64) + "s"
}

// memTracker reads the target's memory at the points of a run. Its
// methods are called from the mode's goroutine only.
type memTracker struct {
	p   probe
	m   memory
	err error
	// since is when all sockets were open; open counts them.
	since time.Time
	open  func() int64
}

func (mt *memTracker) read(ctx context.Context) sample {
	if mt.err != nil {
		return sample{}
	}
	s, err := mt.p.read(ctx)
	if err != nil {
		mt.err = err
		return sample{}
	}
	mt.m.Source = s.source
	return s
}

// before reads the memory before the first socket.
func (mt *memTracker) before(ctx context.Context) {
	s := mt.read(ctx)
	mt.m.Before, mt.m.GoroutinesBefore = s.rss, s.goroutines
	mt.m.HeapBefore, mt.m.StackBefore = s.heapInuse, s.stackInuse
	mt.m.GCsBefore = s.gcs
}

// connected reads the memory once all sockets are open; open counts the
// sockets at each later reading.
func (mt *memTracker) connected(ctx context.Context, open func() int64) {
	mt.since, mt.open = time.Now(), open
	s := mt.sample(ctx, "connected")
	mt.m.Connected = s.rss
}

// sample takes one reading and keeps it as label.
func (mt *memTracker) sample(ctx context.Context, label string) sample {
	s := mt.read(ctx)
	if mt.err == nil {
		mt.m.Samples = append(mt.m.Samples, memSample{
			Label: label, At: math.Round(time.Since(mt.since).Seconds()*10) / 10, Open: mt.open(),
			RSS: s.rss, HeapInuse: s.heapInuse, StackInuse: s.stackInuse, Goroutines: s.goroutines, GCs: s.gcs,
		})
	}
	return s
}

// end takes the last reading, after what ("hold", "play", ...).
func (mt *memTracker) end(ctx context.Context, after string) {
	mt.m.EndAfter = after
	s := mt.sample(ctx, "after "+after)
	mt.m.End, mt.m.GoroutinesEnd = s.rss, s.goroutines
	mt.m.HeapEnd, mt.m.StackEnd = s.heapInuse, s.stackInuse
}

// finish puts the figures, or why there are none, in sum.
func (mt *memTracker) finish(sum *summary, sockets int) {
	if mt.err != nil {
		sum.Notes = append(sum.Notes, "memory not measured: "+mt.err.Error())
		return
	}
	mt.m.Sockets = sockets
	mt.m.finish()
	sum.Memory = &mt.m
}
