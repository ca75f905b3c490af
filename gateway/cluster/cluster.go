// Package cluster makes several gateways behave as one for rooms, over
// NATS: each room is hosted by one gateway at a time, frames from sockets
// on any gateway reach it, its sends reach sockets wherever they are, and
// a table's state is committed to JetStream before a move is acknowledged,
// so that a survivor takes the table over when its host dies or drains.
//
// It implements room.Host (placement, forwarding, fenced saves) and wraps
// the room runtime as the gateway's Handler, so that every socket of the
// cluster is known to every gateway (presence). package gateway/app wires
// it when GATEWAY_NATS_URL is set.
//
// Fencing: a room's entry in the KV bucket gw_rooms names its host; it is
// taken with Create, and taken over (from a dead host, or handed off) with
// Update at the revision read, so two gateways cannot both take it. A
// table's state in gw_state is written with Update at the revision last
// written, and a new host rewrites it at once: a host that was paused
// and wakes up after its room moved fails its next save and lets the room
// go. A host also stops acting on its rooms when its own heartbeat has
// not reached NATS for ValidFor.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/room"
)

// Options tunes a Cluster. The zero value of every field means its default.
type Options struct {
	// URLs are the NATS servers (required).
	URLs []string
	// Node is this gateway's name (required), unique in the cluster.
	Node string
	// Heartbeat is how often the gateway tells the others it lives.
	// Defaults to 500ms.
	Heartbeat time.Duration
	// DeadAfter is how long a silent gateway counts as alive; then its
	// sockets stop counting and its rooms are taken over. Defaults to 3s.
	DeadAfter time.Duration
	// ValidFor is how long after its last heartbeat reached NATS a host
	// still acts on its rooms. Defaults to 1.5s (under DeadAfter).
	ValidFor time.Duration
	// Timeout bounds each NATS request and KV operation. Defaults to 2s.
	Timeout time.Duration
	// Log is the logger.
	Log zerolog.Logger
	// Metrics counts what the cluster does; nil: not counted.
	Metrics *Metrics
}

func (o Options) withDefaults() Options {
	if o.Heartbeat <= 0 {
		o.Heartbeat = 500 * time.Millisecond
	}
	if o.DeadAfter <= 0 {
		o.DeadAfter = 3 * time.Second
	}
	if o.ValidFor <= 0 {
		o.ValidFor = o.DeadAfter / 2
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	return o
}

// Cluster is this gateway's membership of the cluster. It is safe for
// concurrent use. Its goroutines are NATS's subscription handlers and Run;
// Close ends them.
type Cluster struct {
	opts   Options
	log    zerolog.Logger
	nc     *nats.Conn
	rooms  jetstream.KeyValue // gw_rooms: "<kind>.<name>" -> entry
	states jetstream.KeyValue // gw_state: "<kind>.<name>" -> a room's saved state
	rt     *room.Runtime
	start  time.Time
	inc    string // this process's incarnation: a restarted gateway of the same name is another

	lastBeat atomic.Int64 // unix nanos of the last heartbeat NATS acknowledged

	mu        sync.Mutex
	hosted    map[string]uint64        // rooms hosted here: key -> revision of their entry
	stateRev  map[string]uint64        // key -> revision of the state this host wrote last
	hostOf    map[string]string        // rooms hosted elsewhere: key -> host, a cache
	releasing map[string]chan struct{} // rooms whose entry is being released
	placing   map[string]*placement    // rooms being placed: later callers wait for the first
	nodes     map[string]time.Time     // other gateways: last heartbeat
	incs      map[string]string        // other gateways: their incarnation
	remote    map[sockKey]*remoteConn  // sockets of other gateways, mirrored here
	perPlayer map[uuid.UUID]int        // mirrored sockets by player
	nextID    uint64
	local     map[uint64]*gateway.Conn // this gateway's sockets, for deliveries
	subs      []*nats.Subscription
	work      chan func() // releases, done by Run in order
}

// entry is a room's record in gw_rooms.
type entry struct {
	Host string `json:"host"`
}

// Dial connects to NATS and opens (creating if need be) the buckets.
func Dial(ctx context.Context, opts Options) (*Cluster, error) {
	opts = opts.withDefaults()
	if len(opts.URLs) == 0 || opts.Node == "" {
		return nil, errors.New("cluster: URLs and Node are required")
	}
	c := &Cluster{
		opts: opts, log: opts.Log, start: time.Now(),
		hosted: map[string]uint64{}, stateRev: map[string]uint64{}, hostOf: map[string]string{},
		releasing: map[string]chan struct{}{}, placing: map[string]*placement{}, nodes: map[string]time.Time{}, incs: map[string]string{},
		inc:    uuid.NewString()[:8],
		remote: map[sockKey]*remoteConn{}, perPlayer: map[uuid.UUID]int{}, local: map[uint64]*gateway.Conn{},
		work: make(chan func(), 4096),
	}
	nc, err := nats.Connect(strings.Join(opts.URLs, ","),
		nats.Name("gateway "+opts.Node),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(true),
		// Nothing is kept to send after a reconnect: a save that timed out
		// was answered unavailable and must not land later.
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			opts.Metrics.connected.Set(0)
			c.log.Warn().Err(err).Msg("nats disconnected")
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			opts.Metrics.connected.Set(1)
			c.log.Info().Msg("nats reconnected")
			c.announce() // what changed here while cut off reaches the others
			c.hello()
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("cluster: connect nats: %w", err)
	}
	c.nc = nc
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("cluster: jetstream: %w", err)
	}
	for _, b := range []struct {
		name string
		kv   *jetstream.KeyValue
	}{{"gw_rooms", &c.rooms}, {"gw_state", &c.states}} {
		var kv jetstream.KeyValue
		for { // the server may still be starting: retry within ctx
			kctx, cancel := context.WithTimeout(ctx, opts.Timeout)
			kv, err = js.CreateOrUpdateKeyValue(kctx, jetstream.KeyValueConfig{Bucket: b.name, History: 1, Storage: jetstream.FileStorage})
			cancel()
			if err == nil || ctx.Err() != nil {
				break
			}
			c.log.Warn().Err(err).Str("bucket", b.name).Msg("open bucket, retrying")
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("cluster: bucket %s: %w", b.name, err)
		}
		*b.kv = kv
	}
	if nc.IsConnected() {
		opts.Metrics.connected.Set(1)
	}
	c.lastBeat.Store(time.Now().UnixNano())
	return c, nil
}

// Node is this gateway's name.
func (c *Cluster) Node() string { return c.opts.Node }

// Ready reports whether NATS is reachable (for /readyz).
func (c *Cluster) Ready() bool { return c.nc.IsConnected() }

func key(kind, name string) string { return kind + "." + name }

func splitKey(k string) (kind, name string) {
	kind, name, _ = strings.Cut(k, ".")
	return kind, name
}

func (c *Cluster) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.opts.Timeout)
}

// alive reports whether gateway node is alive as far as this one knows.
// Right after start, when no heartbeat can have arrived yet, every other
// gateway counts as alive.
func (c *Cluster) aliveLocked(node string) bool {
	if node == c.opts.Node {
		return true
	}
	seen, ok := c.nodes[node]
	if !ok {
		return time.Since(c.start) < c.opts.DeadAfter
	}
	return time.Since(seen) < c.opts.DeadAfter
}

// placement is one Place in progress for a room.
type placement struct {
	done  chan struct{}
	local bool
	state []byte
	err   error
}

// Place implements room.Host. Concurrent calls for one room share the
// first one's answer, state included (whichever caller gets to the
// runtime first makes the room; the others find it made).
func (c *Cluster) Place(kind, name string, create bool) (bool, []byte, error) {
	k := key(kind, name)
	c.mu.Lock()
	if _, ok := c.hosted[k]; ok {
		c.mu.Unlock()
		return true, nil, nil // hosted here: the room is made, or being made
	}
	if p := c.placing[k]; p != nil {
		c.mu.Unlock()
		<-p.done
		return p.local, p.state, p.err // the same state: whichever caller makes the room restores it
	}
	p := &placement{done: make(chan struct{})}
	c.placing[k] = p
	c.mu.Unlock()
	local, state, err := c.placeOnce(kind, name, create)
	p.local, p.state, p.err = local, state, err
	c.mu.Lock()
	delete(c.placing, k)
	c.mu.Unlock()
	close(p.done)
	return local, state, err
}

func (c *Cluster) placeOnce(kind, name string, create bool) (bool, []byte, error) {
	k := key(kind, name)
	c.mu.Lock()
	wait := c.releasing[k]
	c.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-time.After(c.opts.Timeout):
			return false, nil, room.ErrUnavailable
		}
	}
	for range 5 { // a lost race with another gateway: look again
		ctx, cancel := c.ctx()
		local, state, retry, err := c.place(ctx, kind, name, create)
		cancel()
		if !retry {
			return local, state, err
		}
	}
	return false, nil, room.ErrUnavailable
}

func (c *Cluster) place(ctx context.Context, kind, name string, create bool) (local bool, state []byte, retry bool, err error) {
	k := key(kind, name)
	e, err := c.rooms.Get(ctx, k)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		st, rev, err := c.loadState(ctx, k)
		if err != nil {
			return false, nil, false, room.ErrUnavailable
		}
		if st == nil && !create {
			return true, nil, false, nil // nowhere: the runtime answers Missing
		}
		r, err := c.rooms.Create(ctx, k, mustJSON(entry{c.opts.Node}))
		if errors.Is(err, jetstream.ErrKeyExists) {
			return false, nil, true, nil
		}
		if err != nil {
			return false, nil, false, room.ErrUnavailable
		}
		if st != nil { // an orphaned state (its host handed it off and nobody took it): ours now
			if rev, err = c.fence(ctx, k, st, rev); err != nil {
				return false, nil, true, nil
			}
		}
		c.took(k, r, rev)
		return true, st, false, nil
	case err != nil:
		return false, nil, false, room.ErrUnavailable
	}
	var en entry
	_ = json.Unmarshal(e.Value(), &en)
	c.mu.Lock()
	alive := c.aliveLocked(en.Host)
	c.mu.Unlock()
	if en.Host != c.opts.Node && alive {
		c.mu.Lock()
		c.hostOf[k] = en.Host
		c.mu.Unlock()
		return false, nil, false, nil
	}
	// Ours from before (a room that vanished here), or a dead host's:
	// take it at the revision read, then fence its state.
	r, err := c.rooms.Update(ctx, k, mustJSON(entry{c.opts.Node}), e.Revision())
	if err != nil {
		return false, nil, true, nil
	}
	st, rev, err := c.loadState(ctx, k)
	if err != nil {
		return false, nil, false, room.ErrUnavailable
	}
	if st != nil {
		if rev, err = c.fence(ctx, k, st, rev); err != nil {
			return false, nil, true, nil
		}
		if en.Host != c.opts.Node {
			c.opts.Metrics.takeovers.Inc()
			c.log.Info().Str("room", k).Str("from", en.Host).Msg("took over room")
		}
	}
	c.took(k, r, rev)
	return true, st, false, nil
}

// loadState reads a room's saved state and its revision (nil, 0: none).
func (c *Cluster) loadState(ctx context.Context, k string) ([]byte, uint64, error) {
	e, err := c.states.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	return e.Value(), e.Revision(), nil
}

// fence rewrites state at revision rev, so that the previous host's next
// save fails; it returns the new revision.
func (c *Cluster) fence(ctx context.Context, k string, st []byte, rev uint64) (uint64, error) {
	r, err := c.states.Update(ctx, k, st, rev)
	if err != nil {
		c.opts.Metrics.fenced.Inc()
		return 0, err
	}
	return r, nil
}

func (c *Cluster) took(k string, entryRev, stateRev uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hosted[k] = entryRev
	delete(c.hostOf, k)
	if stateRev != 0 {
		c.stateRev[k] = stateRev
	} else {
		delete(c.stateRev, k)
	}
	c.opts.Metrics.hosted.Set(float64(len(c.hosted)))
}

// Standing implements room.Host: Moved unless the room is hosted here,
// CutOff while this gateway's last heartbeat to reach NATS is older than
// ValidFor (others may be taking its rooms).
func (c *Cluster) Standing(kind, name string) room.Standing {
	c.mu.Lock()
	_, ok := c.hosted[key(kind, name)]
	c.mu.Unlock()
	switch {
	case !ok:
		return room.Moved
	case time.Since(time.Unix(0, c.lastBeat.Load())) > c.opts.ValidFor:
		return room.CutOff
	default:
		return room.Hosted
	}
}

// Save implements room.Host: the state is written at the revision this
// host wrote last; a failure means another gateway has the room.
func (c *Cluster) Save(kind, name string, state []byte) error {
	k := key(kind, name)
	c.mu.Lock()
	_, hosted := c.hosted[k]
	rev := c.stateRev[k]
	c.mu.Unlock()
	if !hosted {
		return room.ErrUnavailable
	}
	ctx, cancel := c.ctx()
	defer cancel()
	var r uint64
	var err error
	if rev == 0 {
		r, err = c.states.Create(ctx, k, state)
	} else {
		r, err = c.states.Update(ctx, k, state, rev)
	}
	if err != nil {
		c.opts.Metrics.fenced.Inc()
		c.log.Warn().Err(err).Str("room", k).Msg("save refused: the room moved")
		c.mu.Lock()
		delete(c.hosted, k)
		delete(c.stateRev, k)
		c.mu.Unlock()
		return fmt.Errorf("save %s: %w", k, err)
	}
	c.mu.Lock()
	c.stateRev[k] = r
	c.mu.Unlock()
	return nil
}

// Vanished implements room.Host: the room's entry (and state) are
// released, in the background, at the revisions held.
func (c *Cluster) Vanished(kind, name string, saved bool) {
	k := key(kind, name)
	c.mu.Lock()
	rev, ok := c.hosted[k]
	srev := c.stateRev[k]
	delete(c.hosted, k)
	delete(c.stateRev, k)
	c.opts.Metrics.hosted.Set(float64(len(c.hosted)))
	if !ok {
		c.mu.Unlock()
		return
	}
	done := make(chan struct{})
	c.releasing[k] = done
	c.mu.Unlock()
	release := func() {
		ctx, cancel := c.ctx()
		defer cancel()
		if saved && srev != 0 {
			_ = c.states.Delete(ctx, k, jetstream.LastRevision(srev))
		}
		_ = c.rooms.Delete(ctx, k, jetstream.LastRevision(rev))
		c.mu.Lock()
		delete(c.releasing, k)
		c.mu.Unlock()
		close(done)
	}
	select {
	case c.work <- release:
	default:
		go release() // the queue is full: do not block the room; bounded by the rooms that vanish at once
	}
}

// forgetHosted drops the cache entry of a room hosted elsewhere.
func (c *Cluster) forgetHost(k string) {
	c.mu.Lock()
	delete(c.hostOf, k)
	c.mu.Unlock()
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only the package's own types
	}
	return b
}

// Mirrored is how many sockets of gateway node this one knows of.
func (c *Cluster) Mirrored(node string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k := range c.remote {
		if k.node == node {
			n++
		}
	}
	return n
}

// Hosted is how many rooms this gateway hosts.
func (c *Cluster) Hosted() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.hosted)
}

// PlayerSockets is how many sockets player has on the other gateways (for
// the cluster-wide GATEWAY_MAX_SOCKETS_PER_PLAYER).
func (c *Cluster) PlayerSockets(player uuid.UUID) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.perPlayer[player]
}

// forgetRemoteLocked removes a mirrored socket from the maps.
func (c *Cluster) forgetRemoteLocked(k sockKey, rc *remoteConn) {
	delete(c.remote, k)
	if c.perPlayer[rc.p.Player]--; c.perPlayer[rc.p.Player] <= 0 {
		delete(c.perPlayer, rc.p.Player)
	}
}
