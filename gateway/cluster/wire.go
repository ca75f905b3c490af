package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/room"
	"github.com/bigtwo/gateway/session"
)

// Subjects. Every gateway subscribes to the broadcast ones and to its own.
const (
	subjHeartbeat = "gw.hb"         // {node}
	subjPresence  = "gw.presence"   // presence
	subjHello     = "gw.hello"      // {node}: a gateway (re)joined; everyone tells it their sockets
	subjRoom      = "gw.room."      // + node: forwarded frames, request/reply
	subjSock      = "gw.sock."      // + node: frames for a socket there
	subjAdopt     = "gw.adopt."     // + node: take a room over (hand-off), request/reply
	subjSync      = "gw.sync"       // syncMsg: a gateway's every socket
	subjList      = "gw.list"       // request, every gateway answers: the rooms it hosts
	hdrInc        = "Gw-Inc"        // the incarnation of the gateway the socket is on
	hdrConn       = "Gw-Conn"       // the socket a delivery is for
	hdrReply      = "Gw-Reply"      // "1": the delivery answers the socket's request
	remoteIDBase  = uint64(1) << 62 // ids of mirrored sockets, above any local socket's
	maxRemote     = 1 << 20         // mirrored sockets this gateway holds at most
	presenceUp    = "up"            // presence.State
	presenceDown  = "down"          //
	presenceDrop  = "revoked"       // down, with the session revoked (4003)
	forwardRetry  = 1               // re-placements of a frame whose host moved
)

// presence is a socket of some gateway, going up or down.
type presence struct {
	Node     string    `json:"node"`
	Inc      string    `json:"inc"`
	Conn     uint64    `json:"conn"`
	Player   uuid.UUID `json:"player"`
	Session  uuid.UUID `json:"session"`
	Username string    `json:"username"`
	IP       string    `json:"ip"`
	State    string    `json:"state"`
}

type sockKey struct {
	node string
	inc  string
	conn uint64
}

// remoteConn is a socket of another gateway, as the runtime here sees it:
// what the room sends it goes to its gateway over NATS.
type remoteConn struct {
	c   *Cluster
	id  uint64
	key sockKey
	p   presence
}

func (r *remoteConn) ID() uint64 { return r.id }
func (r *remoteConn) Identity() session.Identity {
	return session.Identity{PlayerID: r.p.Player, SessionID: r.p.Session, Username: r.p.Username}
}
func (r *remoteConn) ClientIP() string { return r.p.IP }
func (r *remoteConn) Send(m gateway.Message) error {
	return r.c.deliver(r.key, gateway.NewPreparedMessage(m).Frame(), false)
}
func (r *remoteConn) SendPrepared(p gateway.PreparedMessage) error {
	return r.c.deliver(r.key, p.Frame(), false)
}
func (r *remoteConn) Reply(m gateway.Message) error {
	return r.c.deliver(r.key, gateway.NewPreparedMessage(m).Frame(), true)
}

// deliver publishes an encoded frame for socket k of another gateway.
func (c *Cluster) deliver(k sockKey, frame []byte, reply bool) error {
	msg := nats.NewMsg(subjSock + k.node)
	msg.Header.Set(hdrInc, k.inc)
	msg.Header.Set(hdrConn, strconv.FormatUint(k.conn, 10))
	if reply {
		msg.Header.Set(hdrReply, "1")
	}
	msg.Data = frame
	if err := c.nc.PublishMsg(msg); err != nil {
		return fmt.Errorf("deliver to %s: %w", k.node, err)
	}
	return nil
}

// forwardReq is a frame forwarded to its room's host.
type forwardReq struct {
	Kind string          `json:"kind"`
	Room string          `json:"room"`
	Node string          `json:"node"`
	Conn uint64          `json:"conn"`
	P    presence        `json:"p"`
	Type string          `json:"type"`
	ID   json.RawMessage `json:"id,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

type forwardResp struct {
	Error   *gateway.Error `json:"error,omitempty"`
	NotHere bool           `json:"not_here,omitempty"`
}

// Forward implements room.Host: the frame goes to the room's host, which
// answers when the room has handled it.
func (c *Cluster) Forward(kind, name string, s room.Socket, m gateway.Message) error {
	k := key(kind, name)
	req := forwardReq{Kind: kind, Room: name, Node: c.opts.Node, Conn: s.ID(), Type: m.Type, ID: m.ID, Data: m.Data,
		P: presence{Node: c.opts.Node, Inc: c.inc, Conn: s.ID(), Player: s.Player.ID, Session: s.Session, Username: s.Player.Username, IP: s.ClientIP(), State: presenceUp}}
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		host := c.hostOf[k]
		c.mu.Unlock()
		if host == "" {
			local, _, err := c.Place(kind, name, false)
			if err != nil || local {
				return room.ErrUnavailable // placed here meanwhile: the runtime's next frame finds it
			}
			c.mu.Lock()
			host = c.hostOf[k]
			c.mu.Unlock()
			if host == "" {
				return room.ErrUnavailable
			}
		}
		ctx, cancel := c.ctx()
		resp, err := c.nc.RequestWithContext(ctx, subjRoom+host, mustJSON(req))
		cancel()
		if err != nil {
			c.forgetHost(k)
			c.log.Warn().Err(err).Str("room", k).Str("host", host).Msg("forward failed")
			return room.ErrUnavailable
		}
		c.opts.Metrics.forwarded.Inc()
		var fr forwardResp
		if err := json.Unmarshal(resp.Data, &fr); err != nil {
			return room.ErrUnavailable
		}
		if fr.NotHere {
			c.forgetHost(k)
			if attempt < forwardRetry {
				continue
			}
			return room.ErrUnavailable
		}
		if fr.Error != nil {
			return *fr.Error
		}
		return nil
	}
}

// handleForward runs a forwarded frame in a room hosted here.
func (c *Cluster) handleForward(msg *nats.Msg) {
	var req forwardReq
	if err := json.Unmarshal(msg.Data, &req); err != nil {
		return
	}
	rc := c.mirror(req.P)
	if rc == nil {
		_ = msg.Respond(mustJSON(forwardResp{Error: &room.ErrUnavailable}))
		return
	}
	err := c.rt.Deliver(req.Kind, req.Room, rc.id, gateway.Message{Type: req.Type, ID: req.ID, Data: req.Data})
	var resp forwardResp
	var ge gateway.Error
	switch {
	case err == nil:
	case errors.Is(err, room.ErrNotHere):
		resp.NotHere = true
	case errors.As(err, &ge):
		resp.Error = &ge
	default:
		resp.Error = &room.ErrUnavailable
	}
	_ = msg.Respond(mustJSON(resp))
}

// handleSock hands a frame from a room hosted elsewhere to a socket here.
func (c *Cluster) handleSock(msg *nats.Msg) {
	id, err := strconv.ParseUint(msg.Header.Get(hdrConn), 10, 64)
	if err != nil || msg.Header.Get(hdrInc) != c.inc {
		return // for a socket of an earlier process of this name
	}
	c.mu.Lock()
	conn := c.local[id]
	c.mu.Unlock()
	if conn == nil {
		return // the socket ended meanwhile
	}
	p := gateway.PreparedFrame(msg.Data)
	if msg.Header.Get(hdrReply) == "1" {
		_ = conn.ReplyPrepared(p)
	} else {
		_ = conn.SendPrepared(p)
	}
}

// mirror returns the socket of another gateway described by p, opening it
// in the runtime when it is new.
func (c *Cluster) mirror(p presence) *remoteConn {
	k := sockKey{p.Node, p.Inc, p.Conn}
	c.mu.Lock()
	gone := c.seenIncLocked(p.Node, p.Inc)
	if rc := c.remote[k]; rc != nil {
		c.mu.Unlock()
		c.closeAll(gone)
		return rc
	}
	if len(c.remote) >= maxRemote {
		c.mu.Unlock()
		return nil
	}
	c.nextID++
	rc := &remoteConn{c: c, id: remoteIDBase + c.nextID, key: k, p: p}
	c.remote[k] = rc
	c.perPlayer[p.Player]++
	if _, seen := c.nodes[p.Node]; !seen {
		c.nodes[p.Node] = time.Now()
	}
	c.mu.Unlock()
	c.closeAll(gone)
	c.rt.Open(rc)
	return rc
}

// handlePresence mirrors the sockets of other gateways.
func (c *Cluster) handlePresence(msg *nats.Msg) {
	var p presence
	if err := json.Unmarshal(msg.Data, &p); err != nil || p.Node == c.opts.Node {
		return
	}
	if p.State == presenceUp {
		c.mirror(p)
		return
	}
	k := sockKey{p.Node, p.Inc, p.Conn}
	c.mu.Lock()
	rc := c.remote[k]
	if rc != nil {
		c.forgetRemoteLocked(k, rc)
	}
	c.mu.Unlock()
	if rc != nil {
		why := room.Dropped
		if p.State == presenceDrop {
			why = room.Revoked
		}
		c.rt.Close(rc.id, why)
	}
}

// handleHeartbeat notes that a gateway lives.
func (c *Cluster) handleHeartbeat(msg *nats.Msg) {
	node, inc, _ := strings.Cut(string(msg.Data), " ")
	if node == c.opts.Node || node == "" {
		return
	}
	c.mu.Lock()
	c.nodes[node] = time.Now()
	gone := c.seenIncLocked(node, inc)
	c.mu.Unlock()
	c.closeAll(gone)
}

// seenIncLocked notes gateway node's incarnation inc. A new one means the
// process restarted: the sockets of the earlier one are returned, already
// forgotten, for the caller to close once it holds no lock.
func (c *Cluster) seenIncLocked(node, inc string) []*remoteConn {
	if inc == "" || c.incs[node] == inc {
		return nil
	}
	old := c.incs[node]
	c.incs[node] = inc
	if old == "" {
		return nil
	}
	var gone []*remoteConn
	for k, rc := range c.remote {
		if k.node == node && k.inc != inc {
			gone = append(gone, rc)
			c.forgetRemoteLocked(k, rc)
		}
	}
	c.log.Info().Str("node", node).Msg("gateway restarted: its earlier sockets are gone")
	return gone
}

func (c *Cluster) closeAll(gone []*remoteConn) {
	for _, rc := range gone {
		c.rt.Close(rc.id, room.Dropped)
	}
}

// handleHello tells a gateway that (re)joined every socket of this one.
func (c *Cluster) handleHello(msg *nats.Msg) {
	if string(msg.Data) == c.opts.Node {
		return
	}
	c.mu.Lock()
	conns := make([]*gateway.Conn, 0, len(c.local))
	for _, conn := range c.local {
		conns = append(conns, conn)
	}
	c.mu.Unlock()
	for _, conn := range conns {
		c.publishPresence(conn, presenceUp)
	}
}

func (c *Cluster) hello() { _ = c.nc.Publish(subjHello, []byte(c.opts.Node)) }

// syncMsg lists every socket of a gateway: the others forget the mirrors
// of its sockets that are not in it (their presence down was lost).
type syncMsg struct {
	Node  string   `json:"node"`
	Inc   string   `json:"inc"`
	Conns []uint64 `json:"conns"`
}

// announce tells the others every socket of this gateway, after a cut-off
// in which presence messages may have been lost either way.
func (c *Cluster) announce() {
	c.mu.Lock()
	conns := make([]*gateway.Conn, 0, len(c.local))
	ids := make([]uint64, 0, len(c.local))
	for id, conn := range c.local {
		conns = append(conns, conn)
		ids = append(ids, id)
	}
	c.mu.Unlock()
	_ = c.nc.Publish(subjSync, mustJSON(syncMsg{Node: c.opts.Node, Inc: c.inc, Conns: ids}))
	for _, conn := range conns {
		c.publishPresence(conn, presenceUp)
	}
}

func (c *Cluster) handleSync(msg *nats.Msg) {
	var sm syncMsg
	if json.Unmarshal(msg.Data, &sm) != nil || sm.Node == c.opts.Node {
		return
	}
	live := make(map[uint64]bool, len(sm.Conns))
	for _, id := range sm.Conns {
		live[id] = true
	}
	c.mu.Lock()
	gone := c.seenIncLocked(sm.Node, sm.Inc)
	for k, rc := range c.remote {
		if k.node == sm.Node && k.inc == sm.Inc && !live[k.conn] {
			gone = append(gone, rc)
			c.forgetRemoteLocked(k, rc)
		}
	}
	c.mu.Unlock()
	c.closeAll(gone)
}

func (c *Cluster) publishPresence(conn *gateway.Conn, state string) {
	id := conn.Identity()
	_ = c.nc.Publish(subjPresence, mustJSON(presence{Node: c.opts.Node, Inc: c.inc, Conn: conn.ID(), Player: id.PlayerID,
		Session: id.SessionID, Username: id.Username, IP: conn.ClientIP(), State: state}))
}

// Handler wraps the runtime as the gateway's Handler: the cluster learns
// of this gateway's sockets (and tells the others) as they come and go.
func (c *Cluster) Handler(rt *room.Runtime) gateway.Handler {
	c.rt = rt
	return handler{c}
}

type handler struct{ c *Cluster }

func (h handler) Connect(ctx context.Context, conn *gateway.Conn) error {
	h.c.mu.Lock()
	h.c.local[conn.ID()] = conn
	h.c.mu.Unlock()
	h.c.publishPresence(conn, presenceUp)
	return h.c.rt.Connect(ctx, conn)
}

func (h handler) Message(ctx context.Context, conn *gateway.Conn, m gateway.Message) error {
	return h.c.rt.Message(ctx, conn, m)
}

func (h handler) Disconnect(conn *gateway.Conn, reason error) {
	h.c.mu.Lock()
	delete(h.c.local, conn.ID())
	h.c.mu.Unlock()
	state := presenceDown
	if websocket.CloseStatus(reason) == gateway.StatusRevoked {
		state = presenceDrop
	}
	h.c.publishPresence(conn, state)
	h.c.rt.Disconnect(conn, reason)
}

// Run subscribes, then heartbeats, watches the other gateways and takes
// over the rooms of dead ones, until ctx ends.
func (c *Cluster) Run(ctx context.Context) error {
	if c.rt == nil {
		return errors.New("cluster: Run before Handler")
	}
	for subj, h := range map[string]nats.MsgHandler{
		subjHeartbeat:           c.handleHeartbeat,
		subjPresence:            c.handlePresence,
		subjHello:               c.handleHello,
		subjRoom + c.opts.Node:  c.handleForward,
		subjSock + c.opts.Node:  c.handleSock,
		subjAdopt + c.opts.Node: c.handleAdopt,
		subjList:                c.handleList,
		subjSync:                c.handleSync,
	} {
		sub, err := c.nc.Subscribe(subj, h)
		if err != nil {
			return fmt.Errorf("cluster: subscribe %s: %w", subj, err)
		}
		_ = sub.SetPendingLimits(-1, 256<<20)
		c.mu.Lock()
		c.subs = append(c.subs, sub)
		c.mu.Unlock()
	}
	defer c.unsubscribe()
	c.beat()
	c.hello()
	t := time.NewTicker(c.opts.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case f := <-c.work:
			f()
		case <-t.C:
			c.beat()
			c.sweep()
		}
	}
}

// beat publishes a heartbeat and, once NATS has it, notes the time.
func (c *Cluster) beat() {
	if err := c.nc.Publish(subjHeartbeat, []byte(c.opts.Node+" "+c.inc)); err != nil {
		return
	}
	if err := c.nc.FlushTimeout(c.opts.Heartbeat); err != nil {
		return
	}
	if time.Since(time.Unix(0, c.lastBeat.Load())) > c.opts.ValidFor {
		// This gateway was cut off (paused, or NATS unreachable) long
		// enough for others to take its rooms: look before acting again.
		// It heard nobody meanwhile, which says nothing of the others:
		// they get a fresh DeadAfter to be heard again.
		c.mu.Lock()
		for node := range c.nodes {
			c.nodes[node] = time.Now()
		}
		c.mu.Unlock()
		c.revalidate()
		// Others may have dropped this gateway's sockets (it looked dead)
		// and this one missed their presence: both sides tell again.
		c.announce()
		c.hello()
	}
	c.lastBeat.Store(time.Now().UnixNano())
}

// revalidate checks every room hosted here against its entry and lets go
// of those another gateway has taken (or that cannot be checked).
func (c *Cluster) revalidate() {
	c.mu.Lock()
	held := make(map[string]uint64, len(c.hosted))
	for k, rev := range c.hosted {
		held[k] = rev
	}
	c.mu.Unlock()
	for k, rev := range held {
		ctx, cancel := c.ctx()
		e, err := c.rooms.Get(ctx, k)
		cancel()
		var en entry
		if err == nil {
			_ = json.Unmarshal(e.Value(), &en)
		}
		if err == nil && en.Host == c.opts.Node && e.Revision() == rev {
			continue
		}
		c.opts.Metrics.fenced.Inc()
		c.log.Warn().Str("room", k).Str("host", en.Host).Msg("room moved while this gateway was cut off: letting it go")
		c.mu.Lock()
		delete(c.hosted, k)
		delete(c.stateRev, k)
		c.opts.Metrics.hosted.Set(float64(len(c.hosted)))
		c.mu.Unlock()
		kind, name := splitKey(k)
		c.rt.Evict(kind, name)
	}
}

// sweep closes the mirrored sockets of gateways gone silent and takes
// their rooms over.
func (c *Cluster) sweep() {
	if time.Since(time.Unix(0, c.lastBeat.Load())) > c.opts.ValidFor {
		return // cut off: silence from the others is this gateway's own
	}
	var dead []string
	c.mu.Lock()
	for node, seen := range c.nodes {
		if time.Since(seen) >= c.opts.DeadAfter {
			dead = append(dead, node)
			delete(c.nodes, node)
		}
	}
	var gone []*remoteConn
	for _, node := range dead {
		for k, rc := range c.remote {
			if k.node == node {
				gone = append(gone, rc)
				c.forgetRemoteLocked(k, rc)
			}
		}
		for k, host := range c.hostOf {
			if host == node {
				delete(c.hostOf, k)
			}
		}
	}
	c.mu.Unlock()
	for _, rc := range gone {
		c.rt.Close(rc.id, room.Dropped)
	}
	for _, node := range dead {
		c.log.Warn().Str("node", node).Msg("gateway gone silent: taking over its rooms")
		c.takeOver(node)
	}
}

// takeOver adopts the durable rooms hosted by dead (the others vanish:
// their entries are removed, so they start afresh where next used).
func (c *Cluster) takeOver(dead string) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*c.opts.Timeout)
	defer cancel()
	keys, err := c.rooms.Keys(ctx)
	if err != nil {
		return
	}
	for _, k := range keys {
		e, err := c.rooms.Get(ctx, k)
		if err != nil {
			continue
		}
		var en entry
		if json.Unmarshal(e.Value(), &en) != nil || en.Host != dead {
			continue
		}
		c.adopt(ctx, k, e.Revision())
	}
}

// adopt takes room k over at entry revision rev and restores it here.
func (c *Cluster) adopt(ctx context.Context, k string, rev uint64) bool {
	st, srev, err := c.loadState(ctx, k)
	if err != nil {
		return false
	}
	if st == nil {
		_ = c.rooms.Delete(ctx, k, jetstream.LastRevision(rev))
		return false
	}
	r, err := c.rooms.Update(ctx, k, mustJSON(entry{c.opts.Node}), rev)
	if err != nil {
		return false // another gateway took it
	}
	if srev, err = c.fence(ctx, k, st, srev); err != nil {
		return false
	}
	c.took(k, r, srev)
	kind, name := splitKey(k)
	if err := c.rt.Adopt(kind, name, st); err != nil {
		c.log.Error().Err(err).Str("room", k).Msg("adopt room")
		return false
	}
	c.opts.Metrics.takeovers.Inc()
	c.log.Info().Str("room", k).Msg("adopted room")
	return true
}

// adoptReq asks a gateway to take a room over from a draining one.
type adoptReq struct {
	Key string `json:"key"`
}

func (c *Cluster) handleAdopt(msg *nats.Msg) {
	var req adoptReq
	if json.Unmarshal(msg.Data, &req) != nil {
		return
	}
	ctx, cancel := c.ctx()
	defer cancel()
	e, err := c.rooms.Get(ctx, req.Key)
	ok := err == nil && c.adopt(ctx, req.Key, e.Revision())
	_ = msg.Respond(mustJSON(struct {
		OK bool `json:"ok"`
	}{ok}))
}

// Handoff gives every durable room hosted here to another gateway, for a
// drain: call it after the runtime's Shutdown (which stopped the rooms,
// their state saved) and before the sockets are closed.
func (c *Cluster) Handoff(ctx context.Context) error {
	c.mu.Lock()
	var keys []string
	for k := range c.hosted {
		keys = append(keys, k)
	}
	var peers []string
	for node, seen := range c.nodes {
		if time.Since(seen) < c.opts.DeadAfter {
			peers = append(peers, node)
		}
	}
	c.hosted = map[string]uint64{}
	c.opts.Metrics.hosted.Set(0)
	c.mu.Unlock()
	var errs []error
	for i, k := range keys {
		if len(peers) == 0 {
			break // nobody to hand to: the rooms are taken over when next used
		}
		peer := peers[i%len(peers)]
		rctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
		resp, err := c.nc.RequestWithContext(rctx, subjAdopt+peer, mustJSON(adoptReq{Key: k}))
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("hand %s to %s: %w", k, peer, err))
			continue
		}
		c.opts.Metrics.handoffs.Inc()
		_ = resp
	}
	return errors.Join(errs...)
}

// unsubscribe ends Run's subscriptions.
func (c *Cluster) unsubscribe() {
	c.mu.Lock()
	subs := c.subs
	c.subs = nil
	c.mu.Unlock()
	for _, s := range subs {
		_ = s.Unsubscribe()
	}
}

// Close leaves the cluster: the connection drains. Call it after Run has
// returned.
func (c *Cluster) Close() error {
	c.unsubscribe()
	return c.nc.Drain()
}

// listedRoom is a room in a gateway's answer to a listing.
type listedRoom struct {
	Kind    string          `json:"kind"`
	Name    string          `json:"name"`
	Members int             `json:"members"`
	Summary json.RawMessage `json:"summary,omitempty"`
}

type listing struct {
	Node  string       `json:"node"`
	Rooms []listedRoom `json:"rooms"`
}

func (c *Cluster) handleList(msg *nats.Msg) {
	l := listing{Node: c.opts.Node}
	for _, i := range c.rt.Rooms() {
		var sum json.RawMessage
		if i.Summary != nil {
			sum, _ = json.Marshal(i.Summary)
		}
		l.Rooms = append(l.Rooms, listedRoom{i.Kind, i.Name, i.Members, sum})
	}
	_ = msg.Respond(mustJSON(l))
}

// ClusterRooms implements room.Lister: every gateway's rooms, each with
// its host, gathered within a short deadline (a gateway that does not
// answer in time is left out).
func (c *Cluster) ClusterRooms() []room.Info {
	local := c.rt.Rooms()
	c.mu.Lock()
	want := map[string]bool{}
	for node := range c.nodes {
		if c.aliveLocked(node) {
			want[node] = true
		}
	}
	c.mu.Unlock()
	if len(want) == 0 {
		return local
	}
	inbox := c.nc.NewRespInbox()
	sub, err := c.nc.SubscribeSync(inbox)
	if err != nil {
		return local
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := c.nc.PublishRequest(subjList, inbox, nil); err != nil {
		return local
	}
	out := local
	deadline := time.Now().Add(listWait)
	for len(want) > 0 {
		msg, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			break // the deadline: list what answered
		}
		var l listing
		if json.Unmarshal(msg.Data, &l) != nil || l.Node == c.opts.Node {
			continue
		}
		delete(want, l.Node)
		for _, r := range l.Rooms {
			i := room.Info{Kind: r.Kind, Name: r.Name, Members: r.Members, Host: l.Node}
			if len(r.Summary) > 0 {
				i.Summary = r.Summary
			}
			out = append(out, i)
		}
	}
	return out
}

// listWait bounds how long a listing waits for the other gateways.
const listWait = 300 * time.Millisecond
