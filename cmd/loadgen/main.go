// Command loadgen measures a running gateway: session creation, socket
// connect + auth, held idle sockets and their memory, reconnect bursts,
// ping round trips and room traffic, with a bare coder/websocket server as
// the baseline, and the CPU time the gateway and the tool spend in each
// phase (from /proc, so on Linux with the gateway on the same machine).
//
//	loadgen sessions -n 10000 -c 32
//	loadgen connect  -n 10000 -c 32 -duration 30s [-sample 30s] [-burst 1000] [-baseline]
//	loadgen ping     -n 10000 -rate 1000 -duration 30s
//	loadgen rooms    -tables 2500 -rate 1 -duration 30s
//	loadgen tables   -tables 2500 -rate 1 -duration 60s
//	loadgen baseline -n 10000 -c 32 -duration 30s
//	loadgen churn    -min 1000 -n 3000 -duration 10m
//
// Each socket needs its own session and POST /session is rate limited per
// client address, so run the gateway under test with
// GATEWAY_SESSION_RATE=off GATEWAY_MAX_PENDING_PER_IP=100000 GATEWAY_MAX_SOCKETS_PER_IP=100000 (see
// docs/PERFORMANCE.md). A progress line goes to stderr every second; the
// summary goes to stdout, as JSON with -json.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
		}
		os.Exit(1)
	}
}

// modeHelp lists the subcommands.
const modeHelp = `usage: loadgen <mode> [flags]

modes:
  sessions        POST /session throughput and latency (-n requests, -c at once)
  connect         open -n authenticated sockets (-c at once), hold them -duration, reading
                  memory every -sample; -burst N: close N and dial them again within 1 s
  ping            hold -n sockets and send -rate pings/s among them for -duration
  rooms           -tables tables of 4 sockets, each table -rate game frames/s
  tables          -tables Big Two tables of 4 players, each table -rate moves/s
  baseline        connect against a bare coder/websocket server (a child process)
  churn           clients that come and go, -min -> -n -> -min over -duration: join, chat,
                  refresh over HTTP and in band, leave after 5-30 s, reconnect; counts refusals
  serve-baseline  run that bare server (-addr); used by baseline and -baseline
`

// run is the program: main only calls it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) < 2 || strings.HasPrefix(args[1], "-") || args[1] == "help" {
		fmt.Fprint(stderr, modeHelp)
		return flag.ErrHelp
	}
	mode := args[1]
	if mode == "serve-baseline" {
		return serveBaseline(ctx, args[2:], stdout, stderr)
	}
	cfg, err := parseConfig(mode, args[2:], stderr)
	if err != nil {
		return err
	}
	lg := newLoadgen(cfg, stderr)
	defer lg.closeIdle()
	modes := map[string]func(context.Context) (*summary, error){
		"sessions": lg.sessions,
		"connect":  lg.connect,
		"ping":     lg.ping,
		"rooms":    lg.rooms,
		"tables":   lg.tables,
		"baseline": lg.baseline,
		"churn":    lg.churn,
	}
	sum, err := lg.withProgress(ctx, modes[mode])
	if sum != nil {
		sum.finish()
		if cfg.JSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if jerr := enc.Encode(sum); jerr != nil {
				return errors.Join(err, fmt.Errorf("write summary: %w", jerr))
			}
		} else {
			sum.writeText(stdout)
		}
	}
	return err
}

// config is every setting of a measuring mode.
type config struct {
	Mode     string
	URL      *url.URL // http(s)://host:port of the gateway
	N        int
	C        int
	Duration time.Duration
	Rate     float64
	Tables   int
	JSON     bool
	PID      int
	Baseline bool
	Timeout  time.Duration
	Min      int    // churn: clients at the start and the end
	Auth     string // how sockets authenticate: header, frame, subprotocol, query
	// Sample is how often a hold reads the target's memory, besides 5 s
	// after all sockets are open and at the end; 0 for never.
	Sample time.Duration
	// Burst is how many held sockets a hold closes and dials again at
	// once (connect, baseline); 0 for none.
	Burst int
}

// parseConfig parses the flags of mode.
func parseConfig(mode string, args []string, stderr io.Writer) (config, error) {
	switch mode {
	case "sessions", "connect", "ping", "rooms", "tables", "baseline", "churn":
	default:
		fmt.Fprint(stderr, modeHelp)
		return config{}, fmt.Errorf("unknown mode %q", mode)
	}
	cfg := config{Mode: mode}
	fs := flag.NewFlagSet("loadgen "+mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	rawURL := fs.String("url", "http://localhost:8080", "gateway base URL (POST /session, GET /ws, GET /metrics)")
	fs.IntVar(&cfg.N, "n", 1000, "sockets to open (sessions: requests to send)")
	fs.IntVar(&cfg.C, "c", 32, "concurrency of session creation and connects; the gateway's GATEWAY_MAX_PENDING_PER_IP (32) must allow it")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long to hold the sockets (connect, baseline), send (ping, rooms) or play (tables)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "ping: pings per second in all (default 1000); rooms: game frames per second per table (default 1); tables: moves per second per table (default 1)")
	fs.IntVar(&cfg.Tables, "tables", 100, "rooms, tables: four-player tables")
	fs.BoolVar(&cfg.JSON, "json", false, "write the summary as JSON")
	fs.IntVar(&cfg.PID, "pid", 0, "the gateway's pid, to read its CPU time from /proc/<pid>/stat (and its RSS from /proc when /metrics has no process_resident_memory_bytes); by default the one process listening on -url's port, when that is on loopback")
	fs.BoolVar(&cfg.Baseline, "baseline", false, "connect: run the baseline first in the same run and compare")
	fs.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "bound on one request, dial or awaited frame")
	fs.DurationVar(&cfg.Sample, "sample", 30*time.Second, "connect, baseline: read the target's memory every this long during the hold, besides 5 s after all sockets are open and at the end (0: only those)")
	fs.IntVar(&cfg.Burst, "burst", 0, "connect, baseline: 5 s into the hold (at its end if shorter), close this many held sockets at once and dial them all again within a second, as after a gateway died")
	fs.IntVar(&cfg.Min, "min", 0, "churn: clients at the start and the end (default -n/3); -n is the peak at mid-run")
	fs.StringVar(&cfg.Auth, "auth", authHeader, "how sockets present their token: header (Authorization), frame (a first auth frame), subprotocol (bearer.<token>) or query (?token=)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch cfg.Auth {
	case authHeader, authFrame, authSubprotocol, authQuery:
	default:
		return config{}, fmt.Errorf("-auth: want header, frame, subprotocol or query, got %q", cfg.Auth)
	}
	u, err := url.Parse(*rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return config{}, fmt.Errorf("-url: want http(s)://host[:port], got %q", *rawURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	cfg.URL = u
	if cfg.Rate == 0 {
		cfg.Rate = 1000
		if mode == "rooms" || mode == "tables" {
			cfg.Rate = 1
		}
	}
	if mode == "churn" && cfg.Min == 0 {
		cfg.Min = max(1, cfg.N/3)
	}
	switch {
	case mode == "churn" && (cfg.Min < 1 || cfg.Min > cfg.N):
		return config{}, fmt.Errorf("-min: need 1 to -n (%d), got %d", cfg.N, cfg.Min)
	case cfg.N < 1:
		return config{}, fmt.Errorf("-n: need at least 1, got %d", cfg.N)
	case cfg.C < 1:
		return config{}, fmt.Errorf("-c: need at least 1, got %d", cfg.C)
	case cfg.Duration < 0:
		return config{}, fmt.Errorf("-duration: negative %s", cfg.Duration)
	case cfg.Rate < 0:
		return config{}, fmt.Errorf("-rate: negative %g", cfg.Rate)
	case cfg.Tables < 1:
		return config{}, fmt.Errorf("-tables: need at least 1, got %d", cfg.Tables)
	case cfg.Burst < 0:
		return config{}, fmt.Errorf("-burst: negative %d", cfg.Burst)
	case cfg.Burst > 0 && mode != "connect" && mode != "baseline":
		return config{}, fmt.Errorf("-burst: only for connect and baseline, not %s", mode)
	case cfg.Sample < 0:
		return config{}, fmt.Errorf("-sample: negative %s", cfg.Sample)
	case cfg.Timeout <= 0:
		return config{}, fmt.Errorf("-timeout: need a positive duration, got %s", cfg.Timeout)
	}
	return cfg, nil
}
