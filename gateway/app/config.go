package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/room/tables"
	"github.com/bigtwo/gateway/session"
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
	AuthFastPath         bool // sockets authenticate without a store call while the revocation feed is synced
	DrainTimeout         time.Duration
	TurnTimeout          time.Duration
	SeatGrace            time.Duration
	NATSURLs             []string
	NodeName             string // "" until parseConfig fills in the host name and a suffix
	LogLevel             string
	LogFormat            string // "json", "console", or "" for json unless stdout is a terminal
	PprofAddr            string // "" = no profiling listener
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

// settings is the table of every setting. Defaults that a package applies
// to a zero option come from that package's DefaultOptions, so each is
// written once.
func settings() []setting {
	gw, ss, tb := gateway.DefaultOptions(), session.DefaultOptions(), tables.DefaultOptions()
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
		{"GATEWAY_TOKEN_TTL", dur(ss.TokenTTL), "access token lifetime", durationInto(func(c *config) *time.Duration { return &c.TokenTTL })},
		{"GATEWAY_SESSION_TTL", dur(ss.SessionTTL), "idle session lifetime", durationInto(func(c *config) *time.Duration { return &c.SessionTTL })},
		{"GATEWAY_SESSION_MAX_AGE", dur(ss.SessionMaxAge), "absolute session lifetime", durationInto(func(c *config) *time.Duration { return &c.SessionMaxAge })},
		{"GATEWAY_MAX_SESSIONS_PER_PLAYER", strconv.Itoa(ss.MaxSessionsPerPlayer), "active sessions per player; the oldest is evicted past it", intInto(func(c *config) *int { return &c.MaxSessionsPerPlayer })},
		{"GATEWAY_ALLOWED_ORIGINS", "", "comma-separated WebSocket Origin host patterns; empty = same host", func(c *config, v string) error { c.AllowedOrigins = splitList(v); return nil }},
		{"GATEWAY_ADMIN_TOKEN", "", "admin API bearer token; empty = admin API off", func(c *config, v string) error { c.AdminToken = v; return nil }},
		{"GATEWAY_AUTH_TIMEOUT", dur(gw.AuthTimeout), "first-frame auth deadline", durationInto(func(c *config) *time.Duration { return &c.AuthTimeout })},
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
		{"GATEWAY_MESSAGE_RATE", perSecond(gw.MessageRate), "frames per socket (N/s, N/m, N/h or off)", func(c *config, v string) error {
			l, err := parseRate(v)
			c.MessageRate = l
			return err
		}},
		{"GATEWAY_MESSAGE_BURST", strconv.Itoa(gw.MessageBurst), "frames burst per socket", intInto(func(c *config) *int { return &c.MessageBurst })},
		{"GATEWAY_TRUSTED_PROXIES", "", "comma-separated CIDRs whose X-Forwarded-For is believed", func(c *config, v string) error {
			p, err := parsePrefixes(v)
			c.TrustedProxies = p
			return err
		}},
		{"GATEWAY_CLEANUP_INTERVAL", dur(ss.CleanupInterval), "expired-session sweep interval", durationInto(func(c *config) *time.Duration { return &c.CleanupInterval })},
		{"GATEWAY_MAX_MESSAGE_BYTES", strconv.FormatInt(gw.MaxMessageBytes, 10), "read limit of an authenticated socket", func(c *config, v string) error {
			n, err := parsePositive(v)
			c.MaxMessageBytes = int64(n)
			return err
		}},
		{"GATEWAY_PING_INTERVAL", dur(gw.PingInterval), "server heartbeat interval", durationInto(func(c *config) *time.Duration { return &c.PingInterval })},
		{"GATEWAY_PING_TIMEOUT", dur(gw.PingTimeout), "heartbeat answer deadline", durationInto(func(c *config) *time.Duration { return &c.PingTimeout })},
		{"GATEWAY_SEND_QUEUE", strconv.Itoa(gw.SendQueue), "frames waiting for a slow client before 1013", intInto(func(c *config) *int { return &c.SendQueue })},
		{"GATEWAY_MAX_SOCKETS_PER_PLAYER", strconv.Itoa(gw.MaxSocketsPerPlayer), "sockets per player; then 4008", intInto(func(c *config) *int { return &c.MaxSocketsPerPlayer })},
		{"GATEWAY_MAX_PENDING_PER_IP", strconv.Itoa(gw.MaxPendingPerIP), "unauthenticated sockets per address; then 429", intInto(func(c *config) *int { return &c.MaxPendingPerIP })},
		{"GATEWAY_MAX_PENDING", "", "unauthenticated sockets of the whole process; then 503; empty = 512 per CPU", optionalIntInto(func(c *config) *int { return &c.MaxPending })},
		{"GATEWAY_MAX_SOCKETS_PER_IP", strconv.Itoa(gw.MaxSocketsPerIP), "sockets per address, pending and authenticated; then 429", intInto(func(c *config) *int { return &c.MaxSocketsPerIP })},
		{"GATEWAY_STORE_TIMEOUT", dur(ss.StoreTimeout), "bound on every store call", durationInto(func(c *config) *time.Duration { return &c.StoreTimeout })},
		{"GATEWAY_AUTH_FAST_PATH", "on", "on or off: sockets authenticate without a store call while the revocation feed is synced (PostgreSQL store only)", func(c *config, v string) error {
			switch v {
			case "on", "off":
				c.AuthFastPath = v == "on"
				return nil
			}
			return fmt.Errorf("invalid value %q (want on or off)", v)
		}},
		{"GATEWAY_DRAIN_TIMEOUT", "10s", "shutdown budget", durationInto(func(c *config) *time.Duration { return &c.DrainTimeout })},
		{"GATEWAY_TURN_TIMEOUT", dur(tb.TurnTimeout), "a Big Two turn's deadline; then the bot move", durationInto(func(c *config) *time.Duration { return &c.TurnTimeout })},
		{"GATEWAY_SEAT_GRACE", dur(tb.SeatGrace), "how long an away player keeps a seat between hands", durationInto(func(c *config) *time.Duration { return &c.SeatGrace })},
		{"GATEWAY_NATS_URL", "", "NATS server(s) of the cluster, comma-separated; empty = one process", func(c *config, v string) error {
			c.NATSURLs = splitList(v)
			for _, u := range c.NATSURLs {
				if !strings.Contains(u, "://") && strings.Count(u, ":") != 1 {
					return fmt.Errorf("invalid NATS URL %q (want nats://host:port)", u)
				}
			}
			return nil
		}},
		{"GATEWAY_NODE_NAME", "", "this gateway's name in logs, metrics and the admin API; empty = host name + random suffix", func(c *config, v string) error {
			if len(v) > 64 || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
				return fmt.Errorf("invalid node name %q (at most 64 printable characters, no spaces)", v)
			}
			c.NodeName = v
			return nil
		}},
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
		{"GATEWAY_PPROF_ADDR", "", "listen address of the net/http/pprof handlers, loopback only (127.0.0.1:6060); empty = off", func(c *config, v string) error {
			if v == "" {
				c.PprofAddr = ""
				return nil
			}
			if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
				return fmt.Errorf("invalid address %q (want host:port, e.g. 127.0.0.1:6060)", v)
			}
			c.PprofAddr = v
			return nil
		}},
	}
}

// checkPprofAddr refuses a profiling address on the public port: the
// profiles (memory contents, the command line) must never be served where
// players connect. Port 0 (any free port) never clashes.
func checkPprofAddr(pprofAddr, addr string) error {
	_, pp, err := net.SplitHostPort(pprofAddr)
	if err != nil {
		return err
	}
	_, ap, err := net.SplitHostPort(addr)
	if err != nil {
		return nil // GATEWAY_ADDR's own error comes when it is bound
	}
	pport, perr := net.LookupPort("tcp", pp)
	aport, aerr := net.LookupPort("tcp", ap)
	if perr == nil && aerr == nil && pport != 0 && pport == aport {
		return fmt.Errorf("port %d is GATEWAY_ADDR's: profiles are never served on the public port (use a loopback address, e.g. 127.0.0.1:6060)", pport)
	}
	return nil
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
	if c.PprofAddr != "" {
		if err := checkPprofAddr(c.PprofAddr, c.Addr); err != nil {
			return config{}, fmt.Errorf("GATEWAY_PPROF_ADDR: %w", err)
		}
	}
	if c.SessionMaxAge < c.SessionTTL {
		c.SessionTTL = c.SessionMaxAge // the idle timeout is capped by the absolute one
	}
	if c.NodeName == "" {
		c.NodeName = defaultNodeName()
	}
	return c, nil
}

// defaultNodeName is the host name and a random suffix, so that two
// gateways on one host (or a restarted one) have different names.
func defaultNodeName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "gateway"
	}
	if i := strings.IndexByte(host, '.'); i > 0 {
		host = host[:i]
	}
	return fmt.Sprintf("%s-%04x", host, rand.Uint32()&0xffff)
}

// dur writes a default duration as a person would: 168h, 25s, 2m.
func dur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// perSecond writes a default rate: 50/s.
func perSecond(l rate.Limit) string {
	return strconv.FormatFloat(float64(l), 'f', -1, 64) + "/s"
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
