package app

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		remote  string
		xff     []string
		want    string
	}{
		{"no proxies: peer", nil, "203.0.113.7:1234", []string{"1.2.3.4"}, "203.0.113.7"},
		{"untrusted peer: spoofed header ignored", trusted, "203.0.113.7:1234", []string{"1.2.3.4"}, "203.0.113.7"},
		{"trusted peer: header used", trusted, "10.0.0.2:1234", []string{"198.51.100.9"}, "198.51.100.9"},
		{"right-most untrusted hop", trusted, "10.0.0.2:1234", []string{"1.2.3.4, 198.51.100.9, 10.0.0.5"}, "198.51.100.9"},
		{"several headers", trusted, "10.0.0.2:1234", []string{"1.2.3.4", "198.51.100.9"}, "198.51.100.9"},
		{"all trusted", trusted, "10.0.0.2:1234", []string{"10.1.1.1"}, "10.1.1.1"},
		{"garbage hop", trusted, "10.0.0.2:1234", []string{"1.2.3.4, junk"}, "10.0.0.2"},
		{"no header", trusted, "10.0.0.2:1234", nil, "10.0.0.2"},
		{"ipv6 peer", nil, "[2001:db8::1]:443", nil, "2001:db8::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tt.remote, Header: http.Header{}}
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientIPFunc(tt.trusted)(r); got != tt.want {
				t.Fatalf("clientIP(%s, %v) = %s, want %s", tt.remote, tt.xff, got, tt.want)
			}
		})
	}
}

func TestLimitKey(t *testing.T) {
	tests := map[string]string{
		"203.0.113.7":          "203.0.113.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"::ffff:203.0.113.7":   "::ffff:203.0.113.7",
		"not-an-address":       "not-an-address",
	}
	for in, want := range tests {
		if got := limitKey(in); got != want {
			t.Errorf("limitKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIPLimiterForgetsIdleBuckets(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	l := newIPLimiter(rate.Every(time.Second), 2, func() time.Time { return now })
	for _, ip := range []string{"a", "b", "c"} {
		if ok, _ := l.allow(ip); !ok {
			t.Fatalf("first request of %s refused", ip)
		}
	}
	l.allow("a")
	ok, wait := l.allow("a")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("third request of a = %v, %v, want refused with a wait up to 1s", ok, wait)
	}
	now = now.Add(time.Hour)
	l.allow("d")
	if got := l.size(); got != 1 {
		t.Fatalf("buckets after an idle hour = %d, want 1", got)
	}
}
