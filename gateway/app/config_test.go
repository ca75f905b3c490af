package app

import (
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := parseConfig(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.TokenTTL != time.Hour || c.SessionTTL != 168*time.Hour || c.SessionMaxAge != 720*time.Hour ||
		c.MaxSessionsPerPlayer != 5 || c.AuthTimeout != 10*time.Second || c.SessionBurst != 20 || c.RefreshBurst != 60 || c.RefreshRate != 1 || c.MessageBurst != 100 ||
		c.MaxMessageBytes != 65536 || c.PingInterval != 25*time.Second || c.PingTimeout != 10*time.Second ||
		c.SendQueue != 64 || c.MaxSocketsPerPlayer != 10 || c.MaxPendingPerIP != 32 || c.MaxPending != 0 || c.DBMaxConns != 0 || c.MaxSocketsPerIP != 1000 || c.StoreTimeout != 2*time.Second ||
		c.DrainTimeout != 10*time.Second || c.CleanupInterval != time.Minute || c.LogLevel != "info" || c.DatabaseURL != "" ||
		!c.AuthFastPath || c.PprofAddr != "" {
		t.Fatalf("defaults = %+v", c)
	}
	if c.SessionRate != rate.Limit(10.0/60) || c.MessageRate != 50 {
		t.Fatalf("rates = %v, %v, want 10/m and 50/s", c.SessionRate, c.MessageRate)
	}
}

func TestParseConfigFlagWinsOverEnv(t *testing.T) {
	c, err := parseConfig([]string{"-token-ttl", "90s", "-addr", "127.0.0.1:0"},
		env(map[string]string{"GATEWAY_TOKEN_TTL": "2h", "GATEWAY_SEND_QUEUE": "8", "GATEWAY_SESSION_RATE": "off"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.TokenTTL != 90*time.Second || c.SendQueue != 8 || c.Addr != "127.0.0.1:0" || c.SessionRate != rate.Inf {
		t.Fatalf("config = %+v, want the flag's 90s, the env's 8 and off", c)
	}
}

func TestParseConfigErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bad duration", map[string]string{"GATEWAY_TOKEN_TTL": "banana"}, nil, `GATEWAY_TOKEN_TTL: invalid duration "banana"`},
		{"negative duration", map[string]string{"GATEWAY_PING_INTERVAL": "-1s"}, nil, "GATEWAY_PING_INTERVAL: invalid duration"},
		{"bad duration flag", nil, []string{"-drain-timeout", "soon"}, `GATEWAY_DRAIN_TIMEOUT: invalid duration "soon"`},
		{"bad rate", map[string]string{"GATEWAY_SESSION_RATE": "10/d"}, nil, "GATEWAY_SESSION_RATE: invalid rate"},
		{"zero rate", map[string]string{"GATEWAY_MESSAGE_RATE": "0/s"}, nil, "GATEWAY_MESSAGE_RATE: invalid rate"},
		{"bad int", map[string]string{"GATEWAY_SEND_QUEUE": "many"}, nil, "GATEWAY_SEND_QUEUE: invalid number"},
		{"zero int", map[string]string{"GATEWAY_MAX_SOCKETS_PER_PLAYER": "0"}, nil, "GATEWAY_MAX_SOCKETS_PER_PLAYER: invalid number"},
		{"short secret", map[string]string{"GATEWAY_JWT_SECRET": "short"}, nil, "GATEWAY_JWT_SECRET: secret of 5 bytes"},
		{"short old secret", map[string]string{"GATEWAY_JWT_OLD_SECRETS": strings.Repeat("k", 32) + ",tiny"}, nil, "GATEWAY_JWT_OLD_SECRETS: old secret 2"},
		{"bad cidr", map[string]string{"GATEWAY_TRUSTED_PROXIES": "10.0.0.0/8,nope"}, nil, `GATEWAY_TRUSTED_PROXIES: invalid CIDR "nope"`},
		{"bad level", map[string]string{"GATEWAY_LOG_LEVEL": "loud"}, nil, "GATEWAY_LOG_LEVEL: invalid log level"},
		{"bad format", map[string]string{"GATEWAY_LOG_FORMAT": "xml"}, nil, "GATEWAY_LOG_FORMAT: invalid log format"},
		{"bad pool size", map[string]string{"GATEWAY_DB_MAX_CONNS": "-3"}, nil, "GATEWAY_DB_MAX_CONNS: invalid number"},
		{"zero max pending", map[string]string{"GATEWAY_MAX_PENDING": "0"}, nil, "GATEWAY_MAX_PENDING: invalid number"},
		{"bad message bytes", map[string]string{"GATEWAY_MAX_MESSAGE_BYTES": "64k"}, nil, "GATEWAY_MAX_MESSAGE_BYTES: invalid number"},
		{"bad fast path", map[string]string{"GATEWAY_AUTH_FAST_PATH": "yes"}, nil, `GATEWAY_AUTH_FAST_PATH: invalid value "yes" (want on or off)`},
		{"bad pprof address", map[string]string{"GATEWAY_PPROF_ADDR": "6060"}, nil, `GATEWAY_PPROF_ADDR: invalid address "6060"`},
		{"pprof on the public port", map[string]string{"GATEWAY_PPROF_ADDR": "localhost:8080"}, nil, "GATEWAY_PPROF_ADDR: port 8080 is GATEWAY_ADDR's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, env(tt.env), io.Discard)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("parseConfig() error = %v, want one line starting %q", err, tt.want)
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want rate.Limit
		ok   bool
	}{
		{"10/m", rate.Limit(10.0 / 60), true},
		{"50/s", 50, true},
		{"3600/h", 1, true},
		{"0.5/s", 0.5, true},
		{"off", rate.Inf, true},
		{"", 0, false},
		{"10", 0, false},
		{"10/", 0, false},
		{"/s", 0, false},
		{"-1/s", 0, false},
		{"1e3/s", 0, false},
		{"NaN/s", 0, false},
		{"Inf/s", 0, false},
		{"10/minute", 0, false},
		{"OFF", 0, false},
	}
	for _, tt := range tests {
		got, err := parseRate(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parseRate(%q) = %v, %v, want %v (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"10/m", "50/s", "1/h", "off", "0/s", "-1/s", "1e9/s", "x/y", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := parseRate(s)
		if err != nil {
			return
		}
		if !(l > 0) {
			t.Fatalf("parseRate(%q) = %v, want a positive limit or an error", s, l)
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"1h", "90s", "0", "-1s", "banana", "1h30m", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDuration(s)
		if err == nil && d <= 0 {
			t.Fatalf("parseDuration(%q) = %v, want positive or an error", s, d)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("parseDuration(%q) error spans lines: %q", s, err)
		}
	})
}
