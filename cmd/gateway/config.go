package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// config is every setting of the gateway, parsed and checked.
type config struct {
	Addr                 string
	DatabaseURL          string
	DBMaxConns           int // 0: the URL's pool_max_conns, else postgres.DefaultMaxConns
	JWTSecret            string
	JWTOldSecrets        []string
	TokenTTL             time.Duration
	SessionTTL           time.Duration
	SessionMaxAge        time.Duration
	MaxSessionsPerPlayer int
	AllowedOrigins       []string
	AdminToken           string
	AuthTimeout          time.Duration
	SessionRate          rate.Limit
	SessionBurst         int
	RefreshRate          rate.Limit
	RefreshBurst         int
	MessageRate          rate.Limit
	MessageBurst         int
	TrustedProxies       []netip.Prefix
	CleanupInterval      time.Duration
	MaxMessageBytes      int64
	PingInterval         time.Duration
	PingTimeout          time.Duration
	SendQueue            int
	MaxSocketsPerPlayer  int
	MaxPendingPerIP      int
	MaxPending           int // 0: the gateway's default, 512 per CPU
	MaxSocketsPerIP      int
	StoreTimeout         time.Duration
	DrainTimeout         time.Duration
	LogLevel             string
	LogFormat            string // "json", "console", or "" for json unless stdout is a terminal
}

// setting is one row of the configuration table: an environment variable,
// its flag, its default and how to parse it into a config.
type setting struct {
	env   string
	def   string
	usage string
	parse func(c *config, v string) error
}

// flagName is the flag of an environment variable: GATEWAY_TOKEN_TTL -> token-ttl.
func (s setting) flagName() string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(s.env, "GATEWAY_")), "_", "-")
}

func settings() []setting {
	return []setting{
		{"GATEWAY_ADDR", ":8080", "listen address", func(c *config, v string) error { c.Addr = v; return nil }},
		{"GATEWAY_DATABASE_URL", "", "PostgreSQL URL; empty = memory store", func(c *config, v string) error { c.DatabaseURL = v; return nil }},
		{"GATEWAY_DB_MAX_CONNS", "", "PostgreSQL connections in the pool; empty = the URL's pool_max_conns, else 16", optionalIntInto(func(c *config) *int { return &c.DBMaxConns })},
		{"GATEWAY_JWT_SECRET", "", "active signing key, at least 32 bytes; empty = random per process", func(c *config, v string) error {
			if v != "" && len(v) < 32 {
				return fmt.Errorf("secret of %d bytes, need at least 32", len(v))
			}
			c.JWTSecret = v
			return nil
		}},
		{"GATEWAY_JWT_OLD_SECRETS", "", "comma-separated keys still accepted for verification", func(c *config, v string) error {
			c.JWTOldSecrets = splitList(v)
			for i, s := range c.JWTOldSecrets {
				if len(s) < 32 {
					return fmt.Errorf("old secret %d has %d bytes, need at least 32", i+1, len(s))
				}
			}
			return nil
		}},
		{"GATEWAY_TOKEN_TTL", "1h", "access token lifetime", durationInto(func(c *config) *time.Duration { return &c.TokenTTL })},
		{"GATEWAY_SESSION_TTL", "168h", "idle session lifetime", durationInto(func(c *config) *time.Duration { return &c.SessionTTL })},
		{"GATEWAY_SESSION_MAX_AGE", "720h", "absolute session lifetime", durationInto(func(c *config) *time.Duration { return &c.SessionMaxAge })},
		{"GATEWAY_MAX_SESSIONS_PER_PLAYER", "5", "active sessions per player; the oldest is evicted past it", intInto(func(c *config) *int { return &c.MaxSessionsPerPlayer })},
		{"GATEWAY_ALLOWED_ORIGINS", "", "comma-separated WebSocket Origin host patterns; empty = same host", func(c *config, v string) error { c.AllowedOrigins = splitList(v); return nil }},
		{"GATEWAY_ADMIN_TOKEN", "", "admin API bearer token; empty = admin API off", func(c *config, v string) error { c.AdminToken = v; return nil }},
		{"GATEWAY_AUTH_TIMEOUT", "10s", "first-frame auth deadline", durationInto(func(c *config) *time.Duration { return &c.AuthTimeout })},
		{"GATEWAY_SESSION_RATE", "10/m", "POST /session per client IP (N/s, N/m, N/h or off)", func(c *config, v string) error {
			l, err := parseRate(v)
			c.SessionRate = l
			return err
		}},
		{"GATEWAY_SESSION_BURST", "20", "POST /session burst per client IP", intInto(func(c *config) *int { return &c.SessionBurst })},
		{"GATEWAY_REFRESH_RATE", "60/m", "POST /session/refresh per client IP (N/s, N/m, N/h or off)", func(c *config, v string) error {
			l, err := parseRate(v)
			c.RefreshRate = l
			return err
		}},
		{"GATEWAY_REFRESH_BURST", "60", "POST /session/refresh burst per client IP", intInto(func(c *config) *int { return &c.RefreshBurst })},
		{"GATEWAY_MESSAGE_RATE", "50/s", "frames per socket (N/s, N/m, N/h or off)", func(c *config, v string) error {
			l, err := parseRate(v)
			c.MessageRate = l
			return err
		}},
		{"GATEWAY_MESSAGE_BURST", "100", "frames burst per socket", intInto(func(c *config) *int { return &c.MessageBurst })},
		{"GATEWAY_TRUSTED_PROXIES", "", "comma-separated CIDRs whose X-Forwarded-For is believed", func(c *config, v string) error {
			p, err := parsePrefixes(v)
			c.TrustedProxies = p
			return err
		}},
		{"GATEWAY_CLEANUP_INTERVAL", "1m", "expired-session sweep interval", durationInto(func(c *config) *time.Duration { return &c.CleanupInterval })},
		{"GATEWAY_MAX_MESSAGE_BYTES", "65536", "read limit of an authenticated socket", func(c *config, v string) error {
			n, err := parsePositive(v)
			c.MaxMessageBytes = int64(n)
			return err
		}},
		{"GATEWAY_PING_INTERVAL", "25s", "server heartbeat interval", durationInto(func(c *config) *time.Duration { return &c.PingInterval })},
		{"GATEWAY_PING_TIMEOUT", "10s", "heartbeat answer deadline", durationInto(func(c *config) *time.Duration { return &c.PingTimeout })},
		{"GATEWAY_SEND_QUEUE", "64", "frames waiting for a slow client before 1013", intInto(func(c *config) *int { return &c.SendQueue })},
		{"GATEWAY_MAX_SOCKETS_PER_PLAYER", "10", "sockets per player; then 4008", intInto(func(c *config) *int { return &c.MaxSocketsPerPlayer })},
		{"GATEWAY_MAX_PENDING_PER_IP", "32", "unauthenticated sockets per address; then 429", intInto(func(c *config) *int { return &c.MaxPendingPerIP })},
		{"GATEWAY_MAX_PENDING", "", "unauthenticated sockets of the whole process; then 503; empty = 512 per CPU", optionalIntInto(func(c *config) *int { return &c.MaxPending })},
		{"GATEWAY_MAX_SOCKETS_PER_IP", "1000", "sockets per address, pending and authenticated; then 429", intInto(func(c *config) *int { return &c.MaxSocketsPerIP })},
		{"GATEWAY_STORE_TIMEOUT", "2s", "bound on every store call", durationInto(func(c *config) *time.Duration { return &c.StoreTimeout })},
		{"GATEWAY_DRAIN_TIMEOUT", "10s", "shutdown budget", durationInto(func(c *config) *time.Duration { return &c.DrainTimeout })},
		{"GATEWAY_LOG_LEVEL", "info", "trace, debug, info, warn or error", func(c *config, v string) error {
			switch v {
			case "trace", "debug", "info", "warn", "error":
				c.LogLevel = v
				return nil
			}
			return fmt.Errorf("invalid log level %q (want trace, debug, info, warn or error)", v)
		}},
		{"GATEWAY_LOG_FORMAT", "", "json or console; empty = console on a terminal, else json", func(c *config, v string) error {
			switch v {
			case "", "json", "console":
				c.LogFormat = v
				return nil
			}
			return fmt.Errorf("invalid log format %q (want json or console)", v)
		}},
	}
}

// parseConfig reads every setting from args (flags) and getenv; a flag wins
// over its environment variable. An invalid value is an error naming the
// environment variable.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rows := settings()
	values := make([]*string, len(rows))
	for i, s := range rows {
		def := s.def
		if v, ok := lookup(getenv, s.env); ok {
			def = v
		}
		// The flag package prints the effective default (the environment's
		// value, if set) after the usage.
		values[i] = fs.String(s.flagName(), def, fmt.Sprintf("%s (env %s)", s.usage, s.env))
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var c config
	for i, s := range rows {
		if err := s.parse(&c, strings.TrimSpace(*values[i])); err != nil {
			return config{}, fmt.Errorf("%s: %w", s.env, err)
		}
	}
	if c.SessionMaxAge < c.SessionTTL {
		c.SessionTTL = c.SessionMaxAge // the idle timeout is capped by the absolute one
	}
	return c, nil
}

// lookup treats an empty variable as unset.
func lookup(getenv func(string) string, key string) (string, bool) {
	v := getenv(key)
	return v, v != ""
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func durationInto(field func(*config) *time.Duration) func(*config, string) error {
	return func(c *config, v string) error {
		d, err := parseDuration(v)
		*field(c) = d
		return err
	}
}

func intInto(field func(*config) *int) func(*config, string) error {
	return func(c *config, v string) error {
		n, err := parsePositive(v)
		*field(c) = n
		return err
	}
}

// optionalIntInto is intInto where empty means 0: the component's own
// default.
func optionalIntInto(field func(*config) *int) func(*config, string) error {
	return func(c *config, v string) error {
		if v == "" {
			*field(c) = 0
			return nil
		}
		return intInto(field)(c, v)
	}
}

// parseDuration accepts a positive Go duration ("90s", "1h").
func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", v)
	}
	if d <= 0 {
		return 0, fmt.Errorf("invalid duration %q: must be positive", v)
	}
	return d, nil
}

// parsePositive accepts a positive decimal integer.
func parsePositive(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid number %q: want a positive integer", v)
	}
	return n, nil
}

// parseRate accepts "N/s", "N/m", "N/h" (N a positive number) or "off",
// which is rate.Inf.
func parseRate(v string) (rate.Limit, error) {
	if v == "off" {
		return rate.Inf, nil
	}
	num, unit, ok := strings.Cut(v, "/")
	n, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || n <= 0 || math.IsInf(n, 0) || math.IsNaN(n) || strings.ContainsAny(num, "eExXpP_") {
		return 0, fmt.Errorf("invalid rate %q: want N/s, N/m, N/h or off", v)
	}
	switch unit {
	case "s":
		return rate.Limit(n), nil
	case "m":
		return rate.Limit(n / 60), nil
	case "h":
		return rate.Limit(n / 3600), nil
	}
	return 0, fmt.Errorf("invalid rate %q: want N/s, N/m, N/h or off", v)
}

// parsePrefixes accepts comma-separated CIDRs or bare addresses.
func parsePrefixes(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range splitList(v) {
		if pre, err := netip.ParsePrefix(p); err == nil {
			out = append(out, pre.Masked())
			continue
		}
		addr, err := netip.ParseAddr(p)
		if err != nil {
			return nil, errors.New("invalid CIDR " + strconv.Quote(p))
		}
		out = append(out, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
	}
	return out, nil
}
