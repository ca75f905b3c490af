package main

import (
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"strconv"
	"time"
)

// CPU per phase: the target's utime + stime (from /proc/<pid>/stat) and
// the load tool's own (/proc/self/stat), read just before and just after
// each phase of a run (sessions, connect, hold, ping, play, ...), so that a
// phase's CPU is not mixed with the one before it, and divided by the
// operations of that phase (sessions created, sockets connected, round
// trips, moves, ...). The memory readings (a /metrics scrape each) fall
// between phases, not in them, except the samples taken during a hold.

// cpuStats is the CPU each phase of a run took, the target's and the load
// tool's. Its methods are called from the mode's goroutine only.
type cpuStats struct {
	// ServerPID is the target's pid, 0 when unknown (then there are no
	// server figures, and a note says why); ServerPIDFrom says how it was
	// found: "-pid", "listening on port 18291", "baseline child".
	ServerPID     int    `json:"server_pid,omitempty"`
	ServerPIDFrom string `json:"server_pid_from,omitempty"`
	ToolPID       int    `json:"tool_pid"`
	// TickMS is the resolution of every CPU time: one clock tick.
	TickMS float64    `json:"tick_ms"`
	Phases []cpuPhase `json:"phases"`

	serverErr error // why the target's CPU could not be read, once it failed
}

// cpuPhase is the CPU one phase took.
type cpuPhase struct {
	Name string `json:"phase"`
	// Seconds is the phase's wall time.
	Seconds float64 `json:"seconds"`
	// Ops is how many operations the phase did, each one Per ("session",
	// "socket connected", "round trip", "move", ...).
	Ops int64  `json:"ops"`
	Per string `json:"per"`
	// Server is the target's CPU, nil when it is not known; Tool the load
	// tool's.
	Server *cpuUse `json:"server,omitempty"`
	Tool   *cpuUse `json:"tool,omitempty"`
}

// cpuUse is the CPU time one process spent in a phase.
type cpuUse struct {
	Seconds float64 `json:"cpu_s"`
	// PerOpUS is Seconds per operation, in microseconds (0 without ops).
	PerOpUS float64 `json:"us_per_op"`
	// Cores is Seconds over the phase's wall time: 1 is one core busy
	// throughout.
	Cores float64 `json:"cores"`
}

// newCPUStats measures the CPU of the target t (when its pid is known)
// and of the load tool.
func newCPUStats(t target) *cpuStats {
	return &cpuStats{ServerPID: t.pid, ServerPIDFrom: t.pidFrom, ToolPID: os.Getpid(), TickMS: float64(tick) / float64(time.Millisecond)}
}

// cpuReading is one reading of both processes' CPU time.
type cpuReading struct {
	at       time.Time
	server   time.Duration
	serverOK bool
	tool     time.Duration
	toolOK   bool
}

// read reads the CPU time of both processes now.
func (c *cpuStats) read() cpuReading {
	r := cpuReading{at: time.Now()}
	if c.ServerPID > 0 && c.serverErr == nil {
		var err error
		if r.server, err = procCPU(c.ServerPID); err != nil {
			c.serverErr = err // the target exited: no server figures from here on
		} else {
			r.serverOK = true
		}
	}
	var err error
	r.tool, err = procCPU(0)
	r.toolOK = err == nil
	return r
}

// cpuSpan is CPU time summed over one or more intervals (a hold
// interrupted by a burst of reconnects is two).
type cpuSpan struct {
	wall, server, tool time.Duration
	serverOK, toolOK   bool
	intervals          int
}

// add adds the interval between readings from and to.
func (s *cpuSpan) add(from, to cpuReading) {
	first := s.intervals == 0
	s.intervals++
	s.wall += to.at.Sub(from.at)
	s.server += to.server - from.server
	s.tool += to.tool - from.tool
	s.serverOK = (first || s.serverOK) && from.serverOK && to.serverOK
	s.toolOK = (first || s.toolOK) && from.toolOK && to.toolOK
}

// phase records the CPU used since from as the phase name, which did ops
// operations of what per, and returns the reading it ended with.
func (c *cpuStats) phase(name string, from cpuReading, ops int64, per string) cpuReading {
	to := c.read()
	var s cpuSpan
	s.add(from, to)
	c.record(name, s, ops, per)
	return to
}

// record records span as the phase name.
func (c *cpuStats) record(name string, s cpuSpan, ops int64, per string) {
	p := cpuPhase{Name: name, Seconds: math.Round(s.wall.Seconds()*1000) / 1000, Ops: ops, Per: per}
	use := func(d time.Duration) *cpuUse {
		u := &cpuUse{Seconds: math.Round(d.Seconds()*1000) / 1000}
		if ops > 0 {
			u.PerOpUS = math.Round(float64(d)/float64(time.Microsecond)/float64(ops)*10) / 10
		}
		if s.wall > 0 {
			u.Cores = math.Round(float64(d)/float64(s.wall)*100) / 100
		}
		return u
	}
	if s.serverOK {
		p.Server = use(s.server)
	}
	if s.toolOK {
		p.Tool = use(s.tool)
	}
	c.Phases = append(c.Phases, p)
}

// notes says why there are no server figures, or why they are not the
// target's alone.
func (c *cpuStats) notes(pidErr error) []string {
	switch {
	case c.ServerPID == 0 && pidErr != nil:
		return []string{"server CPU not measured: " + pidErr.Error() + "; pass -pid"}
	case c.ServerPID == 0:
		return []string{"server CPU not measured: pass -pid"}
	case c.serverErr != nil:
		return []string{"server CPU partly measured: " + c.serverErr.Error()}
	case c.ServerPID == c.ToolPID:
		return []string{"the target runs in the load tool's own process: its CPU figures include the tool's"}
	}
	return nil
}

// writeText prints the phases as a table.
func (c *cpuStats) writeText(w io.Writer) {
	if c == nil || len(c.Phases) == 0 {
		return
	}
	server := "server not measured"
	if c.ServerPID > 0 {
		server = fmt.Sprintf("server pid %d (%s)", c.ServerPID, c.ServerPIDFrom)
	}
	fmt.Fprintf(w, "cpu       %s, load tool pid %d; utime+stime from /proc, in %g ms ticks (each figure ±1 tick: coarse for short phases)\n", server, c.ToolPID, c.TickMS)
	fmt.Fprintf(w, "          %-10s %8s %8s %-17s %12s %9s %6s %12s %9s %6s\n",
		"phase", "wall s", "ops", "per", "server cpu s", "µs/op", "cores", "tool cpu s", "µs/op", "cores")
	for _, p := range c.Phases {
		fmt.Fprintf(w, "          %-10s %8.2f %8d %-17s %s %s\n", p.Name, p.Seconds, p.Ops, p.Per, p.Server.cols(p.Ops), p.Tool.cols(p.Ops))
	}
}

// cols formats u as three columns: CPU seconds, µs per op, cores.
func (u *cpuUse) cols(ops int64) string {
	if u == nil {
		return fmt.Sprintf("%12s %9s %6s", "-", "-", "-")
	}
	per := "-"
	if ops > 0 {
		per = strconv.FormatFloat(u.PerOpUS, 'f', 1, 64)
	}
	return fmt.Sprintf("%12.2f %9s %6.2f", u.Seconds, per, u.Cores)
}

// findPID finds the pid of the target at base when it runs on this
// machine: the one process listening on its port on a loopback address.
func findPID(host, port string) (pid int, from string, err error) {
	addr, perr := netip.ParseAddr(host)
	if host != "localhost" && (perr != nil || !addr.IsLoopback()) {
		return 0, "", fmt.Errorf("the target %s is not on loopback, so not known to be on this machine", host)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return 0, "", fmt.Errorf("port %q: %w", port, err)
	}
	pid, err = listenerPID(p)
	if err != nil {
		return 0, "", err
	}
	return pid, "listening on port " + port, nil
}
