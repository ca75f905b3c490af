// Package web is the browser side, embedded in the binary: the Big Two game
// page (index.html, assets/game.js), the developer console (console.html),
// and the reusable client module they are built on (assets/client.js and
// the modules it re-exports). It owns nothing else. web/test holds the
// node tests and web/testdata their fixtures and fakes; neither is served.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

//go:embed index.html console.html assets
var files embed.FS

// pages are the HTML pages and the path each is served at.
var pages = map[string]string{
	"/{$}":          "index.html",
	"/console.html": "console.html",
}

// Register serves the game page at exactly "/", the developer console at
// "/console.html" and each embedded asset at its own route under
// "/assets/". Nothing else is registered, so every other path, an unknown
// asset or the bare "/assets/" included, is the mux's 404 (with the
// gateway's JSON body): no directory is ever listed. Every answer carries
// the security headers of setHeaders.
func Register(mux *http.ServeMux) {
	for pattern, name := range pages {
		mux.Handle("GET "+pattern, serveFile(name))
	}
	// WalkDir over an embed.FS of files known at build time cannot fail.
	_ = fs.WalkDir(files, "assets", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		mux.Handle("GET /"+name, serveFile(name))
		return nil
	})
}

func serveFile(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setHeaders(w.Header(), r.URL.Query().Get("gateway"))
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, files, name)
	})
}

// setHeaders sets the security headers of every page and asset. The
// Content-Security-Policy lets a page run only its own scripts and
// styles (no inline script or style, no eval), connect only to its own
// origin and WebSockets, and be framed by no one. A page served with
// ?gateway=<origin> (a gateway of another origin, see docs/CLIENT.md) may
// also make HTTP calls to that one origin.
func setHeaders(h http.Header, gateway string) {
	connect := "'self' ws: wss:"
	if o := gatewayOrigin(gateway); o != "" {
		connect += " " + o
	}
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; "+
		"img-src 'self'; connect-src "+connect+"; object-src 'none'; base-uri 'none'; "+
		"form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY") // frame-ancestors for browsers without CSP 2
	h.Set("Referrer-Policy", "no-referrer")
}

// hostPort is what a gateway origin's host may be: a name or an address,
// with a port (IPv6 in brackets). Nothing else reaches the header.
var hostPort = regexp.MustCompile(`^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$`)

// gatewayOrigin returns the http(s) origin of raw, or "" when raw is not
// one a page may be pointed at.
func gatewayOrigin(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || !hostPort.MatchString(u.Host) {
		return ""
	}
	return u.Scheme + "://" + strings.ToLower(u.Host)
}
