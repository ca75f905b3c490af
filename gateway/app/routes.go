package app

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/cluster"
	"github.com/bigtwo/gateway/gateway/room"
	"github.com/bigtwo/gateway/session"
	"github.com/bigtwo/gateway/web"
)

// pinger is what readiness needs of the store: it answers, and its
// revocation feed is connected (else revoked sessions could stay online).
type pinger interface {
	Ping(ctx context.Context) error
	Listening() bool
}

// routeDeps is what the routes are built from.
type routeDeps struct {
	sessions   *session.Service
	gw         *gateway.Server
	store      pinger
	limiter    *ipLimiter                 // POST /session
	refreshLim *ipLimiter                 // POST /session/refresh
	clientIP   func(*http.Request) string // the client's address, for logs and sessions
	limitIP    func(*http.Request) string // its key for per-address limits (IPv6: the /64)
	adminToken string
	rooms      *room.Runtime    // for the admin API's room listing
	cluster    *cluster.Cluster // nil: one process
	node       string           // this gateway's name
	registry   *prometheus.Registry
	log        zerolog.Logger
}

// addRoutes registers every route of the gateway: the whole HTTP surface is here.
func addRoutes(mux *http.ServeMux, d routeDeps) {
	bearer := session.RequireBearer(d.sessions, d.log)
	notDraining := func(h http.Handler) http.Handler { return refuseWhileDraining(d.gw, h) }

	mux.Handle("POST /session", rateLimit(d.limiter, d.limitIP, notDraining(session.HandleCreate(d.sessions, d.clientIP, d.log))))
	mux.Handle("GET /session/validate", bearer(session.HandleValidate()))
	mux.Handle("POST /session/refresh", rateLimit(d.refreshLim, d.limitIP, notDraining(session.HandleRefresh(d.sessions, d.clientIP, d.log))))
	mux.Handle("DELETE /session", bearer(session.HandleLogout(d.sessions, d.log)))
	mux.Handle("GET /sessions", bearer(session.HandleSessions(d.sessions, d.log)))
	mux.Handle("DELETE /sessions", bearer(session.HandleLogoutAll(d.sessions, d.log)))

	if d.adminToken != "" {
		admin := session.RequireAdmin(d.adminToken, d.log)
		mux.Handle("GET /admin/sessions", admin(session.HandleAdminSessions(d.sessions, d.log)))
		mux.Handle("DELETE /admin/sessions/{id}", admin(session.HandleAdminRevokeSession(d.sessions, d.log)))
		mux.Handle("DELETE /admin/players/{id}/sessions", admin(session.HandleAdminRevokePlayer(d.sessions, d.log)))
		mux.Handle("GET /admin/rooms", admin(handleAdminRooms(d.rooms, d.node)))
	}

	mux.Handle("GET /ws", d.gw)
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(d.store, d.gw, d.cluster))
	mux.Handle("GET /metrics", handleMetrics(d.registry))
	web.Register(mux)
}

func refuseWhileDraining(gw *gateway.Server, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gw.Draining() {
			w.Header().Set("Retry-After", "1")
			session.WriteError(w, http.StatusServiceUnavailable, "draining", "server is shutting down, retry on another instance")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
}

// readyTimeout bounds the store ping of /readyz.
const readyTimeout = time.Second

func handleReadyz(store pinger, gw *gateway.Server, cl *cluster.Cluster) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gw.Draining() {
			session.WriteError(w, http.StatusServiceUnavailable, "draining", "server is shutting down")
			return
		}
		if cl != nil && !cl.Ready() {
			session.WriteError(w, http.StatusServiceUnavailable, "cluster_unavailable", "NATS unreachable")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := store.Ping(ctx); err != nil {
			session.WriteError(w, http.StatusServiceUnavailable, "store_unavailable", "session store unreachable")
			return
		}
		if !store.Listening() {
			session.WriteError(w, http.StatusServiceUnavailable, "store_unavailable", "revocation feed not connected")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
	})
}

// handleAdminRooms lists the rooms this gateway hosts, by kind and name:
// {"rooms":[{"room","kind","host","members"}]}.
func handleAdminRooms(rooms *room.Runtime, node string) http.Handler {
	type entry struct {
		Room    string `json:"room"`
		Kind    string `json:"kind"`
		Host    string `json:"host"`
		Members int    `json:"members"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list := rooms.AllRooms()
		slices.SortFunc(list, func(a, b room.Info) int {
			return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Name, b.Name))
		})
		out := make([]entry, len(list))
		for i, ri := range list {
			host := ri.Host
			if host == "" {
				host = node
			}
			out[i] = entry{Room: ri.Name, Kind: ri.Kind, Host: host, Members: ri.Members}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(struct {
			Rooms []entry `json:"rooms"`
		}{out})
	})
}

// jsonErrors makes the mux's own 404 and 405 answers carry the JSON error
// body, like every other error.
func jsonErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{header: http.Header{}}
		mux.ServeHTTP(rec, r) // learn whether it is a 404 or a 405 (and the Allow header)
		switch rec.status {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.header.Get("Allow"))
			session.WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here")
		case http.StatusNotFound, 0:
			session.WriteError(w, http.StatusNotFound, "not_found", "no such endpoint")
		default: // a redirect (e.g. path cleaning): pass it on
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.status)
		}
	})
}

// statusRecorder captures a handler's status and headers, discarding its body.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
}

// statusWriter records the status written through it. It unwraps to the
// underlying writer so WebSocket hijacking keeps working.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Hijack and Flush.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
