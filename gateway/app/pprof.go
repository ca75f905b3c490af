package app

import (
	stdlog "log"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/rs/zerolog"
)

// pprofServer serves net/http/pprof's handlers (GATEWAY_PPROF_ADDR) on a
// mux of its own, never on the public one: the package also registers them
// on http.DefaultServeMux when imported, which the gateway never serves.
// It has no write timeout, since /debug/pprof/profile and /trace take
// ?seconds= to answer; run closes it at shutdown without waiting for them.
func pprofServer(log zerolog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // and the named profiles: heap, goroutine, ...
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          stdlog.New(log, "", 0),
	}
}

// loopback reports whether the listener's address is a loopback one,
// reachable from this host only.
func loopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
