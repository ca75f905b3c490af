package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/sync/errgroup"
)

// baseline runs the connect mode against a bare coder/websocket server in
// a child process (loadgen serve-baseline): the floor any gateway is
// compared with. The server runs in its own process so that its RSS holds
// the server side of the sockets only, as the gateway's does.
func (lg *loadgen) baseline(ctx context.Context) (*summary, error) {
	child, err := startBaseline(ctx, lg.stderr)
	if err != nil {
		return nil, err
	}
	t := target{base: child.url, pid: child.pid(), pidFrom: "baseline child"}
	sum := lg.newSummary("baseline", t)
	err = lg.connectHold(ctx, sum, t, slices.Repeat([]string{"baseline"}, lg.cfg.N))
	return sum, errors.Join(err, child.stop())
}

// baselineProc is a running loadgen serve-baseline.
type baselineProc struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	url    *url.URL
}

// startBaseline starts this executable as serve-baseline on a free
// loopback port and waits until it listens.
func startBaseline(ctx context.Context, stderr io.Writer) (*baselineProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("start baseline: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, exe, "serve-baseline", "-addr", "127.0.0.1:0")
	cmd.Stderr = stderr
	// Interrupt lets it close its sockets; it is killed if still running
	// WaitDelay later.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("start baseline: %w", err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start baseline: %w", err)
	}
	b := &baselineProc{cmd: cmd, cancel: cancel}
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		return nil, errors.Join(fmt.Errorf("start baseline: no listening line (%q): %w", line, err), b.stop())
	}
	if b.url, err = url.Parse(addr); err != nil {
		return nil, errors.Join(fmt.Errorf("start baseline: %w", err), b.stop())
	}
	return b, nil
}

func (b *baselineProc) pid() int { return b.cmd.Process.Pid }

// stop interrupts the server and waits for it to exit.
func (b *baselineProc) stop() error {
	b.cancel()
	err := b.cmd.Wait()
	var ee *exec.ExitError
	if errors.Is(err, context.Canceled) || errors.As(err, &ee) && !ee.Exited() {
		return nil // ended by our interrupt
	}
	if err != nil {
		return fmt.Errorf("baseline server: %w", err)
	}
	return nil
}

// serveBaseline is the serve-baseline subcommand: the bare server, until
// ctx ends. It prints "listening http://<addr>" once it listens.
func serveBaseline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen serve-baseline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *addr, err)
	}
	bare := newBareServer(ctx)
	mux := http.NewServeMux()
	mux.Handle("GET /ws", bare)
	mux.HandleFunc("GET /metrics", bare.metrics)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "listening http://%s\n", ln.Addr())

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(gctx), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(sctx)
		bare.close()
		return err
	})
	return g.Wait()
}

// bareServer is the least a WebSocket server can do: accept, send one
// welcome frame (so that the client measures the same thing as against the
// gateway), then return from the handler and read on a fresh goroutine
// (about 16 KiB per socket; reading on the handler's goroutine costs
// about 22 KiB). Close closes every socket and waits for its reader.
type bareServer struct {
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func newBareServer(ctx context.Context) *bareServer {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &bareServer{ctx: ctx, cancel: cancel}
}

// welcomeFrame is what the bare server sends first.
const welcomeFrame = `{"type":"welcome","data":{}}`

func (b *bareServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	if err := c.Write(b.ctx, websocket.MessageText, []byte(welcomeFrame)); err != nil {
		c.CloseNow()
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		c.CloseNow()
		return
	}
	b.wg.Go(func() {
		defer c.CloseNow()
		for {
			if _, _, err := c.Read(b.ctx); err != nil {
				return
			}
		}
	})
}

// close ends every socket (canceling their reads closes them) and waits.
func (b *bareServer) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
}

// metrics exports the figures loadgen reads, in the Prometheus text
// format and under the names of its process and Go collectors.
func (b *bareServer) metrics(w http.ResponseWriter, _ *http.Request) {
	rss, err := procRSS(os.Getpid())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "process_resident_memory_bytes %d\ngo_goroutines %d\ngo_memstats_heap_inuse_bytes %d\ngo_memstats_stack_inuse_bytes %d\ngo_gc_duration_seconds_count %d\n",
		rss, runtime.NumGoroutine(), ms.HeapInuse, ms.StackInuse, ms.NumGC)
}
