package gateway

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/bigtwo/gateway/session"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

// Reasons admit refuses a socket.
var (
	errDraining       = errors.New("gateway: draining")
	errTooManySockets = errors.New("gateway: too many sockets for player")

	errTooManyPending    = errors.New("gateway: too many unauthenticated sockets from this address")
	errTooManyPendingAll = errors.New("gateway: too many unauthenticated sockets")
	errTooManySocketsIP  = errors.New("gateway: too many sockets from this address")
)

// registry knows every socket of the Server: the pending ones (upgraded, not
// yet welcomed) and the authenticated ones by session and by player. It also
// owns the drain flag, so that "not draining, so add" is one step. Its mutex
// is held briefly and never across I/O.
type registry struct {
	mu       sync.Mutex
	draining bool
	aborted  bool // Shutdown gave up: new sockets are dropped at once
	// active counts reservations not yet ended: a handshake and admission
	// in ServeHTTP, then the socket's serve goroutine. Added to only under mu while not draining,
	// so Shutdown can Wait on it.
	active    sync.WaitGroup
	pending   map[*Conn]struct{}
	pendingIP map[string]int
	// pendingAll is the sum of pendingIP: reservations not yet welcomed.
	pendingAll int
	// socketsIP counts every socket of an address from its reservation to
	// its end, pending and authenticated.
	socketsIP map[string]int
	bySession map[uuid.UUID][]*Conn
	perPlayer map[uuid.UUID]int
	authed    int
	// sockets follows authed exactly: it moves under mu with it.
	sockets prometheus.Gauge
	// revoked remembers recent revocations for sockets whose authentication
	// began before the revocation but that register after it (the
	// notification found nothing to close). Entries older than revokedTTL
	// are pruned as new ones arrive, at most once per revokedPrune, so that
	// a burst of revocations (a store's backlog re-read) costs linear time.
	revoked   map[uuid.UUID]time.Time
	lastPrune time.Time
}

// revokedTTL is how long a revocation is remembered for admit; longer than
// any authentication may take (AuthTimeout is far shorter in practice).
const revokedTTL = time.Minute

// revokedPrune is the least time between two scans of registry.revoked.
const revokedPrune = time.Second

func newRegistry(sockets prometheus.Gauge) *registry {
	return &registry{
		sockets:   sockets,
		pending:   make(map[*Conn]struct{}),
		pendingIP: make(map[string]int),
		socketsIP: make(map[string]int),
		bySession: make(map[uuid.UUID][]*Conn),
		perPlayer: make(map[uuid.UUID]int),
		revoked:   make(map[uuid.UUID]time.Time),
	}
}

// reserve counts one more pending socket for ip, unless the server is
// draining, the process already has maxPendingAll pending sockets (full is
// errTooManyPendingAll), or ip already has maxPending pending sockets
// (errTooManyPending) or maxSockets sockets in all (errTooManySocketsIP);
// negative limits are no limit. A reservation is also one unit of active,
// done by whoever ends the socket.
func (r *registry) reserve(ip string, maxPendingAll, maxPending, maxSockets int) (draining bool, full error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.draining {
		return true, nil
	}
	if maxPendingAll >= 0 && r.pendingAll >= maxPendingAll {
		return false, errTooManyPendingAll
	}
	if maxPending >= 0 && r.pendingIP[ip] >= maxPending {
		return false, errTooManyPending
	}
	if maxSockets >= 0 && r.socketsIP[ip] >= maxSockets {
		return false, errTooManySocketsIP
	}
	r.pendingIP[ip]++
	r.pendingAll++
	r.socketsIP[ip]++
	r.active.Add(1)
	return false, nil
}

// unreserve gives back a reservation of ip whose socket never started.
func (r *registry) unreserve(ip string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	decrement(r.pendingIP, ip)
	r.pendingAll--
	decrement(r.socketsIP, ip)
}

// decrement lowers m[k], deleting it at zero so idle addresses cost nothing.
func decrement(m map[string]int, k string) {
	if n := m[k] - 1; n > 0 {
		m[k] = n
	} else {
		delete(m, k)
	}
}

// addPending records an upgraded socket that holds a reservation, and
// reports whether the server started draining (or gave up draining)
// meanwhile; the socket is recorded anyway, so its end is accounted for as
// usual.
func (r *registry) addPending(c *Conn) (draining, aborted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending[c] = struct{}{}
	c.pending = true
	c.counted = true
	return r.draining, r.aborted
}

// admit turns pending c into an authenticated socket of id: it gives back
// the reservation and registers c by session and player, unless the server
// is draining (errDraining), the session was revoked at or after authStart
// (session.ErrRevoked) or the player already has max sockets
// (errTooManySockets).
func (r *registry) admit(c *Conn, id session.Identity, authStart time.Time, max, elsewhere int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.draining {
		return errDraining
	}
	if at, ok := r.revoked[id.SessionID]; ok && !at.Before(authStart) {
		return fmt.Errorf("admit %s: %w", id.SessionID, session.ErrRevoked)
	}
	if max >= 0 && r.perPlayer[id.PlayerID]+elsewhere >= max {
		return errTooManySockets
	}
	r.dropPendingLocked(c)
	r.bySession[id.SessionID] = append(r.bySession[id.SessionID], c)
	r.perPlayer[id.PlayerID]++
	r.authed++
	r.sockets.Inc()
	c.registered = true
	c.regSession, c.regPlayer = id.SessionID, id.PlayerID
	return nil
}

func (r *registry) dropPendingLocked(c *Conn) {
	if c.pending {
		c.pending = false
		delete(r.pending, c)
		decrement(r.pendingIP, c.ip)
		r.pendingAll--
	}
}

// remove forgets c, pending or authenticated.
func (r *registry) remove(c *Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropPendingLocked(c)
	if c.counted {
		c.counted = false
		decrement(r.socketsIP, c.ip)
	}
	if !c.registered {
		return
	}
	c.registered = false
	conns := slices.DeleteFunc(r.bySession[c.regSession], func(x *Conn) bool { return x == c })
	if len(conns) == 0 {
		delete(r.bySession, c.regSession)
	} else {
		r.bySession[c.regSession] = conns
	}
	if n := r.perPlayer[c.regPlayer] - 1; n > 0 {
		r.perPlayer[c.regPlayer] = n
	} else {
		delete(r.perPlayer, c.regPlayer)
	}
	r.authed--
	r.sockets.Dec()
}

// revoke records that session id was revoked at now and returns a copy of
// its sockets.
func (r *registry) revoke(id uuid.UUID, now time.Time) []*Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d := now.Sub(r.lastPrune); d >= revokedPrune || d < 0 {
		r.lastPrune = now
		for sid, at := range r.revoked {
			if now.Sub(at) > revokedTTL {
				delete(r.revoked, sid)
			}
		}
	}
	r.revoked[id] = now
	return slices.Clone(r.bySession[id])
}

// drain sets the drain flag and returns every socket.
func (r *registry) drain() []*Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.draining = true
	return r.allLocked()
}

// abort marks the registry aborted and returns every socket.
func (r *registry) abort() []*Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.aborted = true
	return r.allLocked()
}

func (r *registry) allLocked() []*Conn {
	all := make([]*Conn, 0, len(r.pending)+r.authed)
	for c := range r.pending {
		all = append(all, c)
	}
	for _, conns := range r.bySession {
		all = append(all, conns...)
	}
	return all
}

func (r *registry) isDraining() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.draining
}

func (r *registry) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.authed
}
