package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample any p", []time.Duration{7}, 99, 7},
		{"p0 is the minimum", hundred, 0, time.Millisecond},
		{"p50 of 100", hundred, 50, 50 * time.Millisecond},
		{"p90 of 100", hundred, 90, 90 * time.Millisecond},
		{"p99 of 100", hundred, 99, 99 * time.Millisecond},
		{"p100 is the maximum", hundred, 100, 100 * time.Millisecond},
		{"p50 of 4 is the 2nd", []time.Duration{1, 2, 3, 4}, 50, 2},
		{"p99 of 4 is the last", []time.Duration{1, 2, 3, 4}, 99, 4},
		{"p99.9 of 1000 is the 999th", seq(1000), 99.9, 999},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%d samples, %g) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
			}
		})
	}
}

func seq(n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = time.Duration(i + 1)
	}
	return s
}

func TestSummarize(t *testing.T) {
	// Unsorted on purpose: summarize sorts.
	samples := []time.Duration{4 * time.Millisecond, 1 * time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond, 1500 * time.Microsecond}
	got := summarize(samples)
	want := latency{P50: 2, P90: 4, P99: 4, Max: 4, Mean: 2.3}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summarize mismatch (-want +got):\n%s", diff)
	}
	if got := summarize(nil); got != (latency{}) {
		t.Errorf("summarize(nil) = %+v, want zero", got)
	}
}

func TestRecorderPhase(t *testing.T) {
	var r recorder
	for i := 1; i <= 10; i++ {
		r.add(time.Duration(i) * time.Millisecond)
	}
	r.fail(fmt.Errorf("dial: %w", statusError(429)))
	r.fail(fmt.Errorf("dial: %w", statusError(429)))
	r.fail(io.ErrUnexpectedEOF)
	got := r.phase(2 * time.Second)
	want := &phase{
		Count:      10,
		Errors:     3,
		Seconds:    2,
		Rate:       5,
		Latency:    latency{P50: 5, P90: 9, P99: 10, Max: 10, Mean: 5.5},
		ErrorKinds: map[string]int64{"http 429": 2, "connection closed": 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("phase mismatch (-want +got):\n%s", diff)
	}
}

func TestErrorKind(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"close status", fmt.Errorf("welcome: %w", websocket.CloseError{Code: 4001, Reason: "invalid token"}), "close 4001"},
		{"http status", fmt.Errorf("post session: %w", statusError(503)), "http 503"},
		{"lost", fmt.Errorf("3 joins: %w", errLost), "lost"},
		{"eof", fmt.Errorf("read: %w", io.EOF), "connection closed"},
		{"refused", errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), "connection refused"},
		{"fds", errors.New("accept: too many open files"), "too many open files"},
		{"other, cut to 60", errors.New(strings.Repeat("x", 100)), strings.Repeat("x", 60)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorKind(tt.err); got != tt.want {
				t.Errorf("errorKind(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestParseMetrics(t *testing.T) {
	in := `# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 1.2345678e+07
go_goroutines 42
http_requests_total{code="200"} 7
broken_line
`
	got, err := parseMetrics(strings.NewReader(in))
	if err != nil {
		t.Fatalf("parseMetrics: %v", err)
	}
	want := map[string]float64{"process_resident_memory_bytes": 12345678, "go_goroutines": 42}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseMetrics mismatch (-want +got):\n%s", diff)
	}
}

func TestParseVmRSS(t *testing.T) {
	got, err := parseVmRSS("Name:\tgateway\nVmPeak:\t  999 kB\nVmRSS:\t   2048 kB\nThreads:\t5\n")
	if err != nil || got != 2048*1024 {
		t.Errorf("parseVmRSS = %d, %v, want %d, nil", got, err, 2048*1024)
	}
	if _, err := parseVmRSS("Name:\tx\n"); err == nil {
		t.Error("parseVmRSS without VmRSS: no error")
	}
}

func TestMemoryFinish(t *testing.T) {
	m := memory{Sockets: 1000, Before: 10 << 20, Connected: 10<<20 + 20*1024*1000, End: 10<<20 + 16*1024*1000,
		HeapBefore: 4 << 20, StackBefore: 1 << 20, Samples: []memSample{
			{Label: "+5s", Open: 1000, RSS: 10<<20 + 18*1024*1000, HeapInuse: 4<<20 + 9*1024*1000, StackInuse: 1<<20 + 4*1024*1000},
			{Label: "+30s", Open: 500, RSS: 10<<20 + 9*1024*1000}, // half dropped; no Go figures
		}}
	m.finish()
	if m.PerSocketConnected != 20 || m.PerSocketEnd != 16 {
		t.Errorf("per socket = %.1f, %.1f KiB, want 20, 16", m.PerSocketConnected, m.PerSocketEnd)
	}
	want := []memSample{
		{Label: "+5s", Open: 1000, RSS: 10<<20 + 18*1024*1000, HeapInuse: 4<<20 + 9*1024*1000, StackInuse: 1<<20 + 4*1024*1000,
			PerSocket: 18, HeapPerSocket: 9, StackPerSocket: 4},
		{Label: "+30s", Open: 500, RSS: 10<<20 + 9*1024*1000, PerSocket: 18},
	}
	if diff := cmp.Diff(want, m.Samples); diff != "" {
		t.Errorf("samples mismatch (-want +got):\n%s", diff)
	}
}

func TestHoldPoints(t *testing.T) {
	s := time.Second
	tests := []struct {
		name     string
		d, every time.Duration
		want     []time.Duration
	}{
		{"150 s every 30 s", 150 * s, 30 * s, []time.Duration{5 * s, 30 * s, 60 * s, 90 * s, 120 * s}},
		{"every 5 s is once at 5 s", 16 * s, 5 * s, []time.Duration{5 * s, 10 * s, 15 * s}},
		{"every 2 s", 7 * s, 2 * s, []time.Duration{2 * s, 4 * s, 5 * s, 6 * s}},
		{"no sampling", 30 * s, 0, []time.Duration{5 * s}},
		{"short hold", 2 * s, s, []time.Duration{s}},
		{"shorter than 5 s, no sampling", 2 * s, 0, nil},
		{"sampling at the end is the end reading", 60 * s, 30 * s, []time.Duration{5 * s, 30 * s}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, holdPoints(tt.d, tt.every)); diff != "" {
				t.Errorf("holdPoints(%v, %v) mismatch (-want +got):\n%s", tt.d, tt.every, diff)
			}
		})
	}
	if got := holdLabel(90 * s); got != "+90s" {
		t.Errorf("holdLabel(90s) = %q, want +90s", got)
	}
}

func TestWriteText(t *testing.T) {
	s := &summary{
		Mode: "connect", Target: "http://127.0.0.1:8080", Sockets: 2,
		Connect: &phase{Count: 2, Errors: 1, Seconds: 1, Rate: 2, Latency: latency{P50: 1, P90: 2, P99: 3, Max: 4},
			ErrorKinds: map[string]int64{"http 429": 1}},
		Memory: &memory{Source: "metrics", Sockets: 2, Before: 1 << 20, Connected: 2 << 20, End: 2 << 20, EndAfter: "hold",
			PerSocketConnected: 512, PerSocketEnd: 512, Samples: []memSample{
				{Label: "connected", Open: 2, RSS: 2 << 20, PerSocket: 512},
				{Label: "+5s", At: 5, Open: 2, RSS: 2 << 20, PerSocket: 512, HeapInuse: 1 << 20, HeapPerSocket: 100, GCs: 7},
				{Label: "after hold", At: 30, Open: 1, RSS: 2 << 20, PerSocket: 1024},
			}},
		CPU: &cpuStats{ServerPID: 41, ServerPIDFrom: "-pid", ToolPID: 42, TickMS: 10, Phases: []cpuPhase{
			{Name: "connect", Seconds: 1, Ops: 2, Per: "socket connected", Server: &cpuUse{Seconds: 0.01, PerOpUS: 5000, Cores: 0.01}, Tool: &cpuUse{Seconds: 0.02, PerOpUS: 10000, Cores: 0.02}},
			{Name: "hold", Seconds: 30, Ops: 0, Per: "socket held", Tool: &cpuUse{}},
		}},
		Baseline:          &summary{Mode: "baseline", Target: "http://127.0.0.1:1", Connect: &phase{Count: 2, Rate: 4}},
		ConnectVsBaseline: 0.5,
	}
	var b bytes.Buffer
	s.writeText(&b)
	for _, want := range []string{
		"connect          2 ok      1 errors",
		"p50 1.000 p90 2.000 p99 3.000 max 4.000",
		"1 × http 429",
		"2.0 MiB after hold; per socket 512.0 KiB connected, 512.0 KiB after hold",
		"at                s    open   RSS MiB  RSS KiB  heap KiB stack KiB  goroutines   GCs",
		"+5s             5.0       2       2.0    512.0     100.0         -           -     7",
		"after hold     30.0       1       2.0   1024.0         -         -           -     -",
		"connect rate vs baseline: 0.50×",
		"cpu       server pid 41 (-pid), load tool pid 42; utime+stime from /proc, in 10 ms ticks (each figure ±1 tick: coarse for short phases)",
		"connect        1.00        2 socket connected          0.01    5000.0   0.01         0.02   10000.0   0.02",
		"hold          30.00        0 socket held                  -         -      -         0.00         -   0.00",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("writeText output lacks %q:\n%s", want, b.String())
		}
	}
}

func TestChurnTarget(t *testing.T) {
	const d = 10 * time.Minute
	for _, tt := range []struct {
		at   time.Duration
		want int
	}{
		{0, 1000}, {d / 4, 2000}, {d / 2, 3000}, {3 * d / 4, 2000}, {d, 1000}, {2 * d, 1000}, {-time.Second, 1000},
	} {
		if got := churnTarget(tt.at, d, 1000, 3000); got != tt.want {
			t.Errorf("churnTarget(%v, %v, 1000, 3000) = %d, want %d", tt.at, d, got, tt.want)
		}
	}
}

func TestCPURecord(t *testing.T) {
	at := time.Unix(1000, 0)
	r := func(sec float64, server, tool time.Duration, serverOK bool) cpuReading {
		return cpuReading{at: at.Add(time.Duration(sec * float64(time.Second))), server: server, serverOK: serverOK, tool: tool, toolOK: true}
	}
	var c cpuStats
	// A hold of 2 s + 2 s around a burst: 1.5 s of server CPU and 0.5 s of
	// the tool's over 1,000 sockets.
	var hold cpuSpan
	hold.add(r(0, 10*time.Second, 5*time.Second, true), r(2, 10500*time.Millisecond, 5200*time.Millisecond, true))
	hold.add(r(3, 12*time.Second, 6*time.Second, true), r(5, 13*time.Second, 6300*time.Millisecond, true))
	c.record("hold", hold, 1000, "socket held")
	// The server's pid went away before the end of this one.
	var lost cpuSpan
	lost.add(r(0, time.Second, time.Second, true), r(1, 0, 1100*time.Millisecond, false))
	c.record("ping", lost, 0, "round trip")
	want := []cpuPhase{
		{Name: "hold", Seconds: 4, Ops: 1000, Per: "socket held",
			Server: &cpuUse{Seconds: 1.5, PerOpUS: 1500, Cores: 0.38}, Tool: &cpuUse{Seconds: 0.5, PerOpUS: 500, Cores: 0.13}},
		{Name: "ping", Seconds: 1, Per: "round trip", Tool: &cpuUse{Seconds: 0.1, Cores: 0.1}},
	}
	if diff := cmp.Diff(want, c.Phases); diff != "" {
		t.Errorf("cpu phases mismatch (-want +got):\n%s", diff)
	}
}

func TestCPUNotes(t *testing.T) {
	tests := []struct {
		name   string
		c      cpuStats
		pidErr error
		want   string
	}{
		{"not found", cpuStats{ToolPID: 2}, errors.New("find listener: nothing listens on TCP port 8080"), "server CPU not measured: find listener: nothing listens on TCP port 8080; pass -pid"},
		{"own process", cpuStats{ServerPID: 2, ToolPID: 2}, nil, "the target runs in the load tool's own process: its CPU figures include the tool's"},
		{"exited", cpuStats{ServerPID: 3, ToolPID: 2, serverErr: errors.New("read cpu of 3: gone")}, nil, "server CPU partly measured: read cpu of 3: gone"},
		{"measured", cpuStats{ServerPID: 3, ToolPID: 2}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(tt.c.notes(tt.pidErr), "; "); got != tt.want {
				t.Errorf("notes = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFindPIDNotLocal(t *testing.T) {
	for _, host := range []string{"gateway.example.com", "10.0.0.7"} {
		if pid, _, err := findPID(host, "8080"); err == nil || !strings.Contains(err.Error(), "not on loopback") {
			t.Errorf("findPID(%q) = %d, %v, want an error saying it is not on loopback", host, pid, err)
		}
	}
}

func TestRefusalKind(t *testing.T) {
	tests := []struct {
		name         string
		err          error
		want         string
		storeTimeout bool
	}{
		{"store timeout at auth", fmt.Errorf("welcome: %w", websocket.CloseError{Code: 1013, Reason: "store unavailable"}), "close 1013 store unavailable", true},
		{"invalid token", fmt.Errorf("welcome: %w", websocket.CloseError{Code: 4001, Reason: "invalid token"}), "close 4001 invalid token", false},
		{"store 503", fmt.Errorf("dial: %w", &refusedUpgrade{status: 503, code: "store_unavailable"}), "http 503 store_unavailable", true},
		{"pending cap 503", fmt.Errorf("dial: %w", &refusedUpgrade{status: 503, code: "too_many_pending"}), "http 503 too_many_pending", false},
		{"503 without a body", fmt.Errorf("dial: %w", &refusedUpgrade{status: 503}), "http 503", false},
		{"timeout", fmt.Errorf("dial: %w", context.DeadlineExceeded), "timeout", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := refusalKind(tt.err); got != tt.want {
				t.Errorf("refusalKind(%v) = %q, want %q", tt.err, got, tt.want)
			}
			if got := isStoreTimeout(tt.err); got != tt.storeTimeout {
				t.Errorf("isStoreTimeout(%v) = %v, want %v", tt.err, got, tt.storeTimeout)
			}
		})
	}
	// errorKind, used by the other modes, still sees the bare status.
	if got := errorKind(fmt.Errorf("dial: %w", &refusedUpgrade{status: 503, code: "too_many_pending"})); got != "http 503" {
		t.Errorf("errorKind(refused upgrade 503) = %q, want http 503", got)
	}
}
