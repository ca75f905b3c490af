// Package app is the whole gateway as a library: every setting as a flag
// and a GATEWAY_* environment variable, the memory or PostgreSQL store
// (migrated), the session HTTP API, the admin API, rate limits, trusted
// proxies, CORS, /healthz, /readyz, /metrics, the web client, the
// WebSocket gateway with the room runtime, the revocation feed wired to
// both and to the sockets' authentication fast path, and drain. A game's
// own binary is a main that calls Main with its room kinds; cmd/gateway is
// exactly that with the shipped ones:
//
//	func main() {
//		app.Main(app.Options{Kinds: func(e app.Env) []*room.Kind {
//			return []*room.Kind{chat.Kind(), mygame.Kind(e.Log)}
//		}})
//	}
//
// The program it makes:
//
//	gateway            serve (memory store unless GATEWAY_DATABASE_URL is set)
//	gateway migrate    apply the PostgreSQL migrations and exit
//
// docs/OPERATIONS.md lists the settings (or run `gateway -h`), and
// docs/ROOMS.md is the guide to writing room kinds.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/cluster"
	"github.com/bigtwo/gateway/gateway/room"
	"github.com/bigtwo/gateway/gateway/room/chat"
	"github.com/bigtwo/gateway/gateway/room/tables"
	"github.com/bigtwo/gateway/session"
)

// Options is what a program built on the package chooses. The zero value
// is the shipped gateway.
type Options struct {
	// Kinds builds the room kinds to serve, once the settings are parsed;
	// each kind owns its frame prefix. Nil serves DefaultKinds.
	Kinds func(e Env) []*room.Kind
}

// Env is what a Kinds function builds its rooms with.
type Env struct {
	// Log is a logger for room code, for those who like log/slog; it
	// writes through Logger.
	Log *slog.Logger
	// Logger is the same logger as zerolog.
	Logger zerolog.Logger
	// TurnTimeout is GATEWAY_TURN_TIMEOUT, SeatGrace GATEWAY_SEAT_GRACE:
	// a turn-based game's turn deadline and seat hold.
	TurnTimeout time.Duration
	SeatGrace   time.Duration
}

// DefaultKinds are the shipped rooms: the chat rooms (room.*) and the Big
// Two tables (game.*).
func DefaultKinds(e Env) []*room.Kind {
	return []*room.Kind{chat.Kind(), tables.Kind(tables.Options{TurnTimeout: e.TurnTimeout, SeatGrace: e.SeatGrace})}
}

// Main runs the program with the process's arguments, environment and
// standard streams, and exits non-zero if it fails.
func Main(opts Options) {
	if err := Run(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr, opts); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(1)
	}
}

// Run is the program: it parses the configuration from args (args[0] is
// the program's name) and getenv, serves until ctx ends or SIGINT/SIGTERM
// arrives, then drains within the drain timeout. Logs go to stdout, usage
// and setting errors to stderr.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, opts Options) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	sub := ""
	if len(args) > 1 && args[1] == "migrate" {
		sub, args = "migrate", args[1:]
	}
	cfg, err := parseConfig(args[1:], getenv, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stdout)
	if err != nil {
		return err
	}
	if sub == "migrate" {
		return migrate(ctx, cfg, log)
	}
	if getenv("GOGC") == "" {
		// Thousands of mostly idle sockets: a heap goal of 1.5x the live
		// heap instead of 2x keeps RSS per socket within budget for a few
		// percent of CPU (docs/PERFORMANCE.md). GOGC in the environment wins.
		debug.SetGCPercent(defaultGCPercent)
	}
	return serve(ctx, cfg, log, opts)
}

// defaultGCPercent is the GOGC the gateway runs with unless GOGC is set.
const defaultGCPercent = 50

func newLogger(cfg config, stdout io.Writer) (zerolog.Logger, error) {
	level, err := zerolog.ParseLevel(cfg.LogLevel)
	if err != nil {
		return zerolog.Logger{}, fmt.Errorf("GATEWAY_LOG_LEVEL: %w", err)
	}
	format := cfg.LogFormat
	if format == "" {
		format = "json"
		if f, ok := stdout.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				format = "console"
			}
		}
	}
	var w io.Writer = stdout
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: stdout, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger(), nil
}

func serve(ctx context.Context, cfg config, log zerolog.Logger, opts Options) error {
	keys, err := keyRing(cfg, log)
	if err != nil {
		return err
	}
	reg := newRegistry()
	st, err := openStore(ctx, cfg, log, reg)
	if err != nil {
		return err
	}
	defer st.Close()

	// The socket fast path needs a feed that proves its revocations
	// complete: PostgreSQL's (Synced). The memory store has none, and needs
	// none: its check is a map lookup, and the fast path would let in, after
	// a restart, tokens of sessions it lost (docs/OPERATIONS.md).
	feed, _ := st.(session.Feed)
	if !cfg.AuthFastPath {
		feed = nil
	}
	sessions := session.NewService(st, keys, log.With().Str("component", "session").Logger(), session.Options{
		TokenTTL:             cfg.TokenTTL,
		SessionTTL:           cfg.SessionTTL,
		SessionMaxAge:        cfg.SessionMaxAge,
		MaxSessionsPerPlayer: cfg.MaxSessionsPerPlayer,
		StoreTimeout:         cfg.StoreTimeout,
		CleanupInterval:      cfg.CleanupInterval,
		Metrics:              session.NewMetrics(reg),
		Feed:                 feed,
	})
	log.Info().Bool("auth_fast_path", feed != nil).Msg("socket authentication")
	clientIP := clientIPFunc(cfg.TrustedProxies)
	limitIP := func(r *http.Request) string { return limitKey(clientIP(r)) }
	gwLog := log.With().Str("component", "gateway").Logger()
	kinds := opts.Kinds
	if kinds == nil {
		kinds = DefaultKinds
	}
	roomLog := log.With().Str("component", "room").Logger()
	roomOpts := room.Options{}
	var cl *cluster.Cluster
	if len(cfg.NATSURLs) > 0 {
		cl, err = cluster.Dial(ctx, cluster.Options{
			URLs:    cfg.NATSURLs,
			Node:    cfg.NodeName,
			Log:     log.With().Str("component", "cluster").Logger(),
			Metrics: cluster.NewMetrics(reg),
		})
		if err != nil {
			return fmt.Errorf("GATEWAY_NATS_URL: %w", err)
		}
		defer cl.Close()
		roomOpts.Host = cl
	}
	rooms := room.New(roomLog, roomOpts, kinds(Env{
		Log:         slog.New(zerolog.NewSlogHandler(roomLog)),
		Logger:      roomLog,
		TurnTimeout: cfg.TurnTimeout,
		SeatGrace:   cfg.SeatGrace,
	})...)
	var handler gateway.Handler = rooms
	var elsewhere func(uuid.UUID) int
	if cl != nil {
		handler = cl.Handler(rooms) // every gateway learns of every socket
		elsewhere = cl.PlayerSockets
	}
	gw := gateway.NewServer(sessions, handler, gwLog, gateway.Options{
		AllowedOrigins:         cfg.AllowedOrigins,
		AuthTimeout:            cfg.AuthTimeout,
		MaxMessageBytes:        cfg.MaxMessageBytes,
		MessageRate:            cfg.MessageRate,
		MessageBurst:           cfg.MessageBurst,
		PingInterval:           cfg.PingInterval,
		PingTimeout:            cfg.PingTimeout,
		SendQueue:              cfg.SendQueue,
		MaxSocketsPerPlayer:    cfg.MaxSocketsPerPlayer,
		PlayerSocketsElsewhere: elsewhere,
		MaxPendingPerIP:        cfg.MaxPendingPerIP,
		MaxPending:             cfg.MaxPending,
		MaxSocketsPerIP:        cfg.MaxSocketsPerIP,
		ClientIP:               limitIP,
		Metrics:                gateway.NewMetrics(reg),
	})

	mux := http.NewServeMux()
	addRoutes(mux, routeDeps{
		sessions:   sessions,
		gw:         gw,
		store:      st,
		limiter:    newIPLimiter(cfg.SessionRate, cfg.SessionBurst, time.Now),
		refreshLim: newIPLimiter(cfg.RefreshRate, cfg.RefreshBurst, time.Now),
		clientIP:   clientIP,
		limitIP:    limitIP,
		adminToken: cfg.AdminToken,
		rooms:      rooms,
		cluster:    cl,
		node:       cfg.NodeName,
		registry:   reg,
		log:        log.With().Str("component", "http").Logger(),
	})
	srv := &http.Server{
		Handler: observe(newHTTPMetrics(reg), clientIP, log.With().Str("component", "access").Logger(), cors(cfg.AllowedOrigins, jsonErrors(mux))),
		// Slow clients cannot hold a connection: headers within 5 s, the
		// whole request within 15 s, the answer within 30 s. WebSockets are
		// unaffected: net/http clears the deadlines when Accept hijacks.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          stdlog.New(log.With().Str("component", "http").Logger(), "", 0),
	}

	ln, err := net.Listen("tcp", cfg.Addr) // bind now: a busy port fails here
	if err != nil {
		return fmt.Errorf("GATEWAY_ADDR: %w", err)
	}
	var pprofSrv *http.Server
	var pprofLn net.Listener
	if cfg.PprofAddr != "" {
		pprofLn, err = net.Listen("tcp", cfg.PprofAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("GATEWAY_PPROF_ADDR: %w", err)
		}
		pprofLog := log.With().Str("component", "pprof").Logger()
		pprofSrv = pprofServer(pprofLog)
		ev := pprofLog.Info()
		if !loopback(pprofLn.Addr()) {
			ev = pprofLog.Warn().Str("warning", "not a loopback address: whoever reaches it reads this process's profiles and command line")
		}
		ev.Str("addr", pprofLn.Addr().String()).Msg("pprof listening")
	}
	log.Info().Str("addr", ln.Addr().String()).Str("url", "http://"+displayAddr(ln.Addr())+"/").
		Str("store", storeName(cfg)).Msg("listening")

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	})
	if pprofSrv != nil {
		g.Go(func() error {
			if err := pprofSrv.Serve(pprofLn); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("serve pprof: %w", err)
			}
			return nil
		})
		g.Go(func() error {
			<-ctx.Done()
			return pprofSrv.Close() // a profile being taken does not hold the drain
		})
	}
	g.Go(func() error { return sessions.Run(ctx) })
	if cl != nil {
		g.Go(func() error { return cl.Run(ctx) })
	}
	// One feed for all: the sessions' fast path refuses the session from
	// now on, its sockets close (4003) and its player leaves the rooms,
	// even with no socket open.
	g.Go(func() error {
		return st.Watch(ctx, func(r session.Revocation) {
			sessions.Revoked(r)
			gw.Revoked(r)
			rooms.Revoked(r)
		}, nil)
	})
	g.Go(func() error {
		<-ctx.Done()
		log.Info().Msg("draining")
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.DrainTimeout)
		defer cancel()
		// Rooms stop first (their timers, a hand-off), so that they do not
		// see their members drop. Then http.Server.Shutdown, which leaves
		// upgraded sockets alone, and gw.Shutdown, which closes them with
		// 1001, run at once within the same budget.
		roomErr := rooms.Shutdown(dctx)
		if cl != nil {
			// Tables go to other gateways before their players get 1001.
			if err := cl.Handoff(dctx); err != nil {
				log.Warn().Err(err).Msg("hand-off")
			}
		}
		var gwErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			gwErr = gw.Shutdown(dctx)
		}()
		httpErr := srv.Shutdown(dctx)
		<-done
		if err := errors.Join(roomErr, gwErr, httpErr); err != nil {
			return fmt.Errorf("drain: %w", err)
		}
		log.Info().Msg("drained")
		return nil
	})
	return g.Wait()
}

// displayAddr turns a wildcard listen address into one a browser can open.
func displayAddr(a net.Addr) string {
	if tcp, ok := a.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		return fmt.Sprintf("localhost:%d", tcp.Port)
	}
	return a.String()
}

func storeName(cfg config) string {
	if cfg.DatabaseURL == "" {
		return "memory"
	}
	return "postgres"
}

func keyRing(cfg config, log zerolog.Logger) (*session.KeyRing, error) {
	if cfg.JWTSecret == "" {
		log.Warn().Msg("GATEWAY_JWT_SECRET is not set: using a random signing key; tokens die with this process and other instances cannot verify them. Set GATEWAY_JWT_SECRET (at least 32 bytes) in production")
		return session.RandomKeyRing()
	}
	old := make([][]byte, len(cfg.JWTOldSecrets))
	for i, s := range cfg.JWTOldSecrets {
		old[i] = []byte(s)
	}
	keys, err := session.NewKeyRing([]byte(cfg.JWTSecret), old...)
	if err != nil {
		return nil, fmt.Errorf("GATEWAY_JWT_SECRET: %w", err)
	}
	return keys, nil
}
