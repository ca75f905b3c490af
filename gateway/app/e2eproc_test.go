package app_test

// The processes of the multi-process cluster tests (cluster_e2e_test.go):
// the gateway binary, a nats-server, and three gateways on one PostgreSQL
// schema, each writing its log to a file that a failing test prints.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bigtwo/gateway/store/postgres/pgtest"
)

// natsServerVar names the variable that holds the path of a nats-server
// binary; without it the multi-process cluster tests skip.
const natsServerVar = "GATEWAY_TEST_NATS_SERVER"

const (
	e2eSecret     = "an-e2e-signing-secret-of-32-bytes-or-more"
	e2eAdminToken = "e2e-admin-token-of-some-length"
	// e2eStart bounds a process's start: three gateways migrating one
	// schema at once on a busy two-core machine.
	e2eStart = 30 * time.Second
)

// natsServerBinary returns GATEWAY_TEST_NATS_SERVER, skipping the test when
// it is unset and failing it when the binary does not run.
func natsServerBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv(natsServerVar)
	if bin == "" {
		t.Skip(natsServerVar + " is not set: skipping the multi-process cluster tests " +
			"(e.g. " + natsServerVar + "=/usr/sbin/nats-server, from Debian's nats-server package)")
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s=%s is set but unusable: %v %s", natsServerVar, bin, err, out)
	}
	return bin
}

// buildGateway builds cmd/gateway into a temporary directory of t.
func buildGateway(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gateway")
	// go test puts its own go first on PATH.
	out, err := exec.Command("go", "build", "-o", bin, "github.com/bigtwo/gateway/cmd/gateway").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/gateway: %v\n%s", err, out)
	}
	return bin
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a child process writing to a log file. The goroutine waiting for
// it ends when the process does; kill ends it at the latest.
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has exited
	err    error         // Wait's result, set before exited closes
}

func startProc(t *testing.T, logPath string, env []string, bin string, args ...string) *proc {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", bin, err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	return p
}

func (p *proc) signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill ends the process at once (a stopped one too) and waits for it.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// wait waits up to d for the process to exit and returns its error.
func (p *proc) wait(d time.Duration) error {
	select {
	case <-p.exited:
		return p.err
	case <-time.After(d):
		return fmt.Errorf("still running after %v", d)
	}
}

// e2eCluster is a nats-server and three gateway processes (a, b, c) on one
// fresh PostgreSQL schema. Everything is stopped when the test ends.
type e2eCluster struct {
	t    *testing.T
	bin  string
	dir  string
	env  []string // the settings every gateway shares
	gws  []*e2eGateway
	http *http.Client

	nats              *proc
	natsBin, natsAddr string
	natsArgs          []string
}

// e2eGateway is one gateway of an e2eCluster; it keeps its address when
// it restarts.
type e2eGateway struct {
	cl      *e2eCluster
	name    string
	addr    string
	p       *proc
	started time.Time // when p was started
	paused  bool
	// draining: SIGTERM was sent; players do not reconnect here.
	draining bool
}

func newCluster(t *testing.T, bin, natsBin string) *e2eCluster {
	t.Helper()
	db := pgtest.Schema(t) // first: its cleanup runs after the processes are gone
	dir := t.TempDir()
	cl := &e2eCluster{t: t, bin: bin, dir: dir, http: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}}
	natsAddr := freeAddr(t)
	host, port, _ := net.SplitHostPort(natsAddr)
	cl.natsBin, cl.natsAddr = natsBin, natsAddr
	cl.natsArgs = []string{"-a", host, "-p", port, "-js", "-sd", filepath.Join(dir, "jetstream")}
	cl.startNATS()
	t.Cleanup(func() { cl.nats.kill() })

	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEWAY_") {
			cl.env = append(cl.env, kv)
		}
	}
	cl.env = append(cl.env,
		"GATEWAY_DATABASE_URL="+db,
		"GATEWAY_DB_MAX_CONNS=4",
		"GATEWAY_JWT_SECRET="+e2eSecret,
		"GATEWAY_NATS_URL=nats://"+natsAddr,
		"GATEWAY_ADMIN_TOKEN="+e2eAdminToken,
		"GATEWAY_SESSION_RATE=off",
		"GATEWAY_MESSAGE_RATE=off",
		"GATEWAY_TURN_TIMEOUT=1h",
		"GATEWAY_LOG_FORMAT=json",
	)
	for _, name := range []string{"a", "b", "c"} {
		g := &e2eGateway{cl: cl, name: name, addr: freeAddr(t)}
		cl.gws = append(cl.gws, g)
		g.start()
		t.Cleanup(func() { g.p.kill() })
	}
	t.Cleanup(func() {
		if t.Failed() {
			cl.dumpLogs()
		}
	})
	for _, g := range cl.gws {
		g.waitReady()
	}
	return cl
}

// startNATS starts the nats-server (again, on the same port and store
// directory) and waits until it accepts connections.
func (cl *e2eCluster) startNATS() {
	cl.t.Helper()
	cl.nats = startProc(cl.t, filepath.Join(cl.dir, "nats.log"), os.Environ(), cl.natsBin, cl.natsArgs...)
	waitListening(cl.t, cl.natsAddr, cl.nats)
}

// waitListening waits until addr accepts TCP connections.
func waitListening(t *testing.T, addr string, p *proc) {
	t.Helper()
	deadline := time.Now().Add(e2eStart)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if !p.running() || time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v (process exited: %v)", addr, err, !p.running())
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
	}
}

// start starts the gateway process (again, on the same address).
func (g *e2eGateway) start() {
	env := append(append([]string(nil), g.cl.env...), "GATEWAY_ADDR="+g.addr, "GATEWAY_NODE_NAME="+g.name)
	g.p, g.started = startProc(g.cl.t, g.logPath(), env, g.cl.bin), time.Now()
	g.paused, g.draining = false, false
}

func (g *e2eGateway) logPath() string { return filepath.Join(g.cl.dir, "gateway-"+g.name+".log") }

// usable reports whether players may connect here: running, not paused,
// not draining.
func (g *e2eGateway) usable() bool { return g.p.running() && !g.paused && !g.draining }

func (g *e2eGateway) url(path string) string { return "http://" + g.addr + path }

func (g *e2eGateway) wsURL() string { return "ws://" + g.addr + "/ws" }

// waitReady polls /readyz until it answers 200.
func (g *e2eGateway) waitReady() { g.waitReadyz(http.StatusOK, "") }

// waitReadyz polls /readyz until it answers status with a body that
// contains want.
func (g *e2eGateway) waitReadyz(want int, contains string) {
	t := g.cl.t
	t.Helper()
	deadline := time.Now().Add(e2eStart)
	for {
		status, body, err := g.get("/readyz", "")
		if err == nil && status == want && strings.Contains(body, contains) {
			return
		}
		if !g.p.running() {
			t.Fatalf("gateway %s exited before it was ready: %v", g.name, g.p.err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway %s: /readyz = %d %s %v after %v, want %d", g.name, status, body, err, e2eStart, want)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
	}
}

func (g *e2eGateway) get(path, token string) (int, string, error) {
	req, err := http.NewRequest("GET", g.url(path), nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := g.cl.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// kill9 kills the gateway with SIGKILL and waits for it to be gone.
func (g *e2eGateway) kill9() {
	g.p.kill()
	g.paused = false
}

// rooms is GET /admin/rooms of the gateway: room name -> host, for kind.
func (g *e2eGateway) rooms(kind string) (map[string]string, error) {
	status, body, err := g.get("/admin/rooms", e2eAdminToken)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET /admin/rooms on %s = %d %s", g.name, status, body)
	}
	var out struct {
		Rooms []struct{ Room, Kind, Host string }
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		return nil, fmt.Errorf("GET /admin/rooms on %s: %v", g.name, err)
	}
	m := map[string]string{}
	for _, r := range out.Rooms {
		if r.Kind == kind {
			m[r.Room] = r.Host
		}
	}
	return m, nil
}

// hosts asks every running, unpaused gateway's /admin/rooms which host
// it names for table: gateway -> host, for those that list it.
func (cl *e2eCluster) hosts(table string) map[string]string {
	cl.t.Helper()
	out := map[string]string{}
	for _, g := range cl.gws {
		if !g.p.running() || g.paused {
			continue
		}
		m, err := g.rooms("table")
		if err != nil {
			cl.t.Fatal(err)
		}
		if h, ok := m[table]; ok {
			out[g.name] = h
		}
	}
	return out
}

// hostOf waits until every running gateway's /admin/rooms (a cluster-wide
// listing) names one and the same host for table, that host among them,
// and returns it.
func (cl *e2eCluster) hostOf(table string) *e2eGateway {
	cl.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		hs := cl.hosts(table)
		running := 0
		for _, g := range cl.gws {
			if g.p.running() && !g.paused {
				running++
			}
		}
		one := ""
		agree := len(hs) == running && running > 0
		for _, host := range hs {
			if one == "" {
				one = host
			}
			agree = agree && host == one
		}
		if _, listed := hs[one]; agree && listed {
			return cl.gateway(one)
		}
		if time.Now().After(deadline) {
			cl.t.Fatalf("table %s: /admin/rooms on each gateway names hosts %v, want one host, listed by all", table, hs)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition, with a deadline
	}
}

func (cl *e2eCluster) gateway(name string) *e2eGateway {
	for _, g := range cl.gws {
		if g.name == name {
			return g
		}
	}
	cl.t.Fatalf("no gateway %s", name)
	return nil
}

// dumpLogs prints the last lines of every process's log.
func (cl *e2eCluster) dumpLogs() {
	paths, _ := filepath.Glob(filepath.Join(cl.dir, "*.log"))
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		var lines []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		f.Close()
		if len(lines) > 60 {
			lines = lines[len(lines)-60:]
		}
		cl.t.Logf("--- last %d lines of %s:\n%s", len(lines), filepath.Base(p), strings.Join(lines, "\n"))
	}
}

// logMark returns where each gateway's log ends now, for clusterLog.
func (cl *e2eCluster) logMark() map[string]int64 {
	m := map[string]int64{}
	for _, g := range cl.gws {
		if fi, err := os.Stat(g.logPath()); err == nil {
			m[g.name] = fi.Size()
		}
	}
	return m
}

// clusterLog returns the lines of component cluster that the gateways
// logged since mark, prefixed with the gateway's name.
func (cl *e2eCluster) clusterLog(mark map[string]int64) string {
	var b strings.Builder
	for _, g := range cl.gws {
		f, err := os.Open(g.logPath())
		if err != nil {
			continue
		}
		_, _ = f.Seek(mark[g.name], io.SeekStart)
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"component":"cluster"`) || strings.Contains(sc.Text(), `"level":"error"`) {
				fmt.Fprintf(&b, "  %s: %s\n", g.name, sc.Text())
			}
		}
		f.Close()
	}
	return b.String()
}

// waitLogged waits until gateway g has logged, since mark, a line that
// contains every one of parts.
func (cl *e2eCluster) waitLogged(mark map[string]int64, g *e2eGateway, parts ...string) {
	cl.t.Helper()
	deadline := time.Now().Add(e2eWait)
	for {
		f, err := os.Open(g.logPath())
		if err != nil {
			cl.t.Fatal(err)
		}
		_, _ = f.Seek(mark[g.name], io.SeekStart)
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := false
		for sc.Scan() && !found {
			found = true
			for _, p := range parts {
				found = found && strings.Contains(sc.Text(), p)
			}
		}
		f.Close()
		if found {
			return
		}
		if time.Now().After(deadline) {
			cl.t.Fatalf("gateway %s did not log %q within %v", g.name, parts, e2eWait)
		}
		time.Sleep(20 * time.Millisecond) // polling a log file, with a deadline
	}
}

// metric reads one sample of /metrics of the gateway (0 if absent).
func (g *e2eGateway) metric(name string) float64 {
	_, body, err := g.get("/metrics", "")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// stop pauses (SIGSTOP) or wakes (SIGCONT) the gateway.
func (g *e2eGateway) pause(on bool) {
	sig := syscall.SIGCONT
	if on {
		sig = syscall.SIGSTOP
	}
	if err := g.p.signal(sig); err != nil {
		g.cl.t.Fatalf("signal %s: %v", g.name, err)
	}
	g.paused = on
}
