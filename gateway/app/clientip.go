package app

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIPFunc returns how the gateway finds a request's client address: the
// socket peer, unless the peer is a trusted proxy, in which case the
// right-most X-Forwarded-For hop that is not itself a trusted proxy.
func clientIPFunc(trusted []netip.Prefix) func(*http.Request) string {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		peer := peerAddr(r.RemoteAddr)
		if !peer.IsValid() {
			return r.RemoteAddr
		}
		if len(trusted) == 0 || !isTrusted(peer) {
			return peer.String()
		}
		hops := forwardedHops(r.Header.Values("X-Forwarded-For"))
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(hops[i])
			if err != nil {
				break // garbage from an untrusted hop: stop believing the header
			}
			a = a.Unmap()
			if !isTrusted(a) {
				return a.String()
			}
			peer = a
		}
		return peer.String()
	}
}

func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func forwardedHops(values []string) []string {
	var hops []string
	for _, v := range values {
		for _, h := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	return hops
}

// limitKey is the key of per-address limits (POST /session buckets, pending
// and per-address socket caps): an IPv4 address itself, an IPv6 address its
// /64, since one subscriber usually holds a whole /64 and could otherwise
// pick a fresh address, and a fresh bucket, for every request.
func limitKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	p, _ := a.Prefix(64) // cannot fail for an IPv6 address
	return p.String()
}
