// Command gateway is the Big Two session gateway: anonymous sessions over
// HTTP and authenticated WebSockets routed to the room module.
//
//	gateway            serve (memory store unless GATEWAY_DATABASE_URL is set)
//	gateway migrate    apply the PostgreSQL migrations and exit
//
// Every setting is a flag and a GATEWAY_* environment variable; see
// docs/OPERATIONS.md or `gateway -h`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/room"
	"github.com/bigtwo/gateway/session"
)

func main() {
	if err := run(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(1)
	}
}

// run is the program: it parses the configuration, serves until ctx ends or
// a signal arrives, then drains within the drain timeout.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
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
	return serve(ctx, cfg, log)
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

func serve(ctx context.Context, cfg config, log zerolog.Logger) error {
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

	sessions := session.NewService(st, keys, log.With().Str("component", "session").Logger(), session.Options{
		TokenTTL:             cfg.TokenTTL,
		SessionTTL:           cfg.SessionTTL,
		SessionMaxAge:        cfg.SessionMaxAge,
		MaxSessionsPerPlayer: cfg.MaxSessionsPerPlayer,
		StoreTimeout:         cfg.StoreTimeout,
		CleanupInterval:      cfg.CleanupInterval,
		Metrics:              session.NewMetrics(reg),
	})
	clientIP := clientIPFunc(cfg.TrustedProxies)
	limitIP := func(r *http.Request) string { return limitKey(clientIP(r)) }
	gwLog := log.With().Str("component", "gateway").Logger()
	gw := gateway.NewServer(sessions, room.New(gwLog.With().Str("component", "room").Logger()), gwLog, gateway.Options{
		AllowedOrigins:      cfg.AllowedOrigins,
		AuthTimeout:         cfg.AuthTimeout,
		MaxMessageBytes:     cfg.MaxMessageBytes,
		MessageRate:         cfg.MessageRate,
		MessageBurst:        cfg.MessageBurst,
		PingInterval:        cfg.PingInterval,
		PingTimeout:         cfg.PingTimeout,
		SendQueue:           cfg.SendQueue,
		MaxSocketsPerPlayer: cfg.MaxSocketsPerPlayer,
		MaxPendingPerIP:     cfg.MaxPendingPerIP,
		MaxPending:          cfg.MaxPending,
		MaxSocketsPerIP:     cfg.MaxSocketsPerIP,
		ClientIP:            limitIP,
		Metrics:             gateway.NewMetrics(reg),
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
	log.Info().Str("addr", ln.Addr().String()).Str("url", "http://"+displayAddr(ln.Addr())+"/").
		Str("store", storeName(cfg)).Msg("listening")

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	})
	g.Go(func() error { return sessions.Run(ctx) })
	g.Go(func() error { return st.Watch(ctx, gw.Revoked, nil) })
	g.Go(func() error {
		<-ctx.Done()
		log.Info().Msg("draining")
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.DrainTimeout)
		defer cancel()
		// http.Server.Shutdown leaves upgraded sockets alone; gw.Shutdown
		// closes them with 1001. Both run at once within one budget.
		var gwErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			gwErr = gw.Shutdown(dctx)
		}()
		httpErr := srv.Shutdown(dctx)
		<-done
		if err := errors.Join(gwErr, httpErr); err != nil {
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
