package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// errNoRSS means the target's RSS could not be read: no
// process_resident_memory_bytes at /metrics and no -pid.
var errNoRSS = errors.New("no RSS: the target exports no process_resident_memory_bytes and -pid is not set")

// probe reads the target process's resident set size and goroutine count,
// from its Prometheus /metrics when it exports process metrics, else from
// /proc/<pid>/status when a pid is known.
type probe struct {
	client     *http.Client
	metricsURL string
	pid        int
}

// sample is one reading.
type sample struct {
	source     string
	rss        int64
	goroutines int64
	// heapInuse and stackInuse are the Go runtime's figures, when the
	// target exports go_memstats_*: they split the RSS growth.
	heapInuse  int64
	stackInuse int64
	// gcs is go_gc_duration_seconds_count, the GC cycles so far.
	gcs int64
}

// read takes one reading. A GC in the target is not forced: the figure is
// what the kernel charges the process, garbage included.
func (p probe) read(ctx context.Context) (sample, error) {
	if p.metricsURL != "" {
		m, err := p.scrape(ctx)
		if err == nil && m["process_resident_memory_bytes"] > 0 {
			return sample{
				source:     "metrics",
				rss:        int64(m["process_resident_memory_bytes"]),
				goroutines: int64(m["go_goroutines"]),
				heapInuse:  int64(m["go_memstats_heap_inuse_bytes"]),
				stackInuse: int64(m["go_memstats_stack_inuse_bytes"]),
				gcs:        int64(m["go_gc_duration_seconds_count"]),
			}, nil
		}
	}
	if p.pid > 0 {
		rss, err := procRSS(p.pid)
		if err != nil {
			return sample{}, err
		}
		return sample{source: "proc", rss: rss}, nil
	}
	return sample{}, errNoRSS
}

// scrape fetches the metrics page and returns its unlabelled samples.
func (p probe) scrape(ctx context.Context) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.metricsURL, nil)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", p.metricsURL, err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", p.metricsURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("scrape %s: %w", p.metricsURL, statusError(resp.StatusCode))
	}
	return parseMetrics(resp.Body)
}

// parseMetrics reads the Prometheus text format and returns the samples
// that have no labels, by name.
func parseMetrics(r io.Reader) (map[string]float64, error) {
	out := make(map[string]float64)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 || strings.ContainsRune(fields[0], '{') {
			continue
		}
		v, err := strconv.ParseFloat(fields[1], 64)
		if err != nil {
			continue
		}
		out[fields[0]] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return out, nil
}

// procRSS reads VmRSS of pid from /proc.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read rss of %d: %w", pid, err)
	}
	return parseVmRSS(string(b))
}

// parseVmRSS finds "VmRSS:   1234 kB" in a /proc status file.
func parseVmRSS(status string) (int64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			break
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			break
		}
		return kb * 1024, nil
	}
	return 0, errors.New("parse rss: no VmRSS line in kB")
}
