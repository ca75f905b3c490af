// Package memory is the in-process session store: players and sessions in
// maps, revocations published to in-process subscribers. It is the default
// backend (nothing to install) and the reference for store/storetest; what is
// stored is lost when the process exits, and it cannot be shared between
// gateway processes (use store/postgres for that).
package memory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/bigtwo/gateway/session"
	"github.com/google/uuid"
)

var _ session.Store = (*Store)(nil)

// Store keeps players and sessions in memory. It is safe for concurrent use.
// The zero value is not usable: call New.
//
// Times are stored exactly as given (full precision, location kept), and
// every value returned is a copy: callers may modify it freely.
type Store struct {
	// mu guards every field below. It is held briefly and never while a
	// Watch callback runs.
	mu       sync.Mutex
	players  map[uuid.UUID]session.Player
	names    map[string]uuid.UUID             // username -> player
	sessions map[uuid.UUID]*row               // session id -> row
	owned    map[uuid.UUID]map[uuid.UUID]bool // player -> its sessions
	current  map[string]uuid.UUID             // current refresh hash -> session
	former   map[string]uuid.UUID             // former refresh hash -> session
	subs     map[*subscriber]struct{}         // live Watch calls
}

// formerHashes is how many of a session's former refresh hashes the store
// remembers, the newest ones: presenting one of them is reuse and revokes the
// session, presenting an older one is ErrNotFound like any unknown hash. It
// bounds what one session can store by refreshing in a loop (each refresh
// also pushes its expiry out). It matches storetest.FormerHashes, which the
// conformance suite checks.
const formerHashes = 32

// row is a stored session. s.Username is not kept here: it is joined in
// from the player on every read.
type row struct {
	s      session.Session
	former []string // the newest formerHashes former refresh hashes, oldest first; keys of Store.former
}

// New returns an empty Store.
func New() *Store {
	return &Store{
		players:  make(map[uuid.UUID]session.Player),
		names:    make(map[string]uuid.UUID),
		sessions: make(map[uuid.UUID]*row),
		owned:    make(map[uuid.UUID]map[uuid.UUID]bool),
		current:  make(map[string]uuid.UUID),
		former:   make(map[string]uuid.UUID),
		subs:     make(map[*subscriber]struct{}),
	}
}

// Ping reports whether the store is usable: always nil.
func (st *Store) Ping(context.Context) error { return nil }

// Listening reports whether revocations reach Watch calls: always true, as
// they are delivered in-process. It exists so that the memory and PostgreSQL
// stores are interchangeable for readiness probes.
func (st *Store) Listening() bool { return true }

// Close releases nothing and returns nil; it exists so that the memory and
// PostgreSQL stores are interchangeable. Watch calls end with their contexts.
func (st *Store) Close() error { return nil }

// CreatePlayer implements session.Store. Besides ErrUsernameTaken, it
// refuses a first session of another player, and IDs or refresh hashes
// already stored; in every error case nothing is stored.
func (st *Store) CreatePlayer(_ context.Context, p session.Player, first session.Session) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.names[p.Username]; ok {
		return fmt.Errorf("create player %q: %w", p.Username, session.ErrUsernameTaken)
	}
	if _, ok := st.players[p.ID]; ok {
		return fmt.Errorf("create player %s: id already exists", p.ID)
	}
	if first.PlayerID != p.ID {
		return fmt.Errorf("create player %s: first session %s belongs to player %s", p.ID, first.ID, first.PlayerID)
	}
	if err := st.checkNewLocked(first); err != nil {
		return fmt.Errorf("create player %s: %w", p.ID, err)
	}
	st.players[p.ID] = p
	st.names[p.Username] = p.ID
	st.owned[p.ID] = make(map[uuid.UUID]bool)
	st.insertLocked(first)
	return nil
}

// Player implements session.Store.
func (st *Store) Player(_ context.Context, id uuid.UUID) (session.Player, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	p, ok := st.players[id]
	if !ok {
		return session.Player{}, fmt.Errorf("player %s: %w", id, session.ErrNotFound)
	}
	return p, nil
}

// CreateSession implements session.Store.
func (st *Store) CreateSession(_ context.Context, s session.Session, limit int) ([]session.Session, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.players[s.PlayerID]; !ok {
		return nil, fmt.Errorf("create session %s: player %s: %w", s.ID, s.PlayerID, session.ErrNotFound)
	}
	if err := st.checkNewLocked(s); err != nil {
		return nil, fmt.Errorf("create session %s: %w", s.ID, err)
	}
	var evict []*row
	if limit > 0 {
		active := st.playerRowsLocked(s.PlayerID, s.CreatedAt, false)
		if n := len(active) + 1 - limit; n > 0 {
			evict = active[:n]
		}
	}
	st.insertLocked(s)
	evicted := make([]session.Session, 0, len(evict))
	for _, r := range evict {
		st.revokeLocked(r, s.CreatedAt, session.ReasonEvicted)
		evicted = append(evicted, st.outLocked(r))
	}
	return evicted, nil
}

// Session implements session.Store.
func (st *Store) Session(_ context.Context, id uuid.UUID) (session.Session, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	r, ok := st.sessions[id]
	if !ok {
		return session.Session{}, fmt.Errorf("session %s: %w", id, session.ErrNotFound)
	}
	return st.outLocked(r), nil
}

// TouchSession implements session.Store. It always records at (a memory
// write costs nothing), unless at is before the recorded LastSeenAt, and
// returns the session as touched.
func (st *Store) TouchSession(_ context.Context, id uuid.UUID, at time.Time) (session.Session, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	r, ok := st.sessions[id]
	if !ok {
		return session.Session{}, fmt.Errorf("touch session %s: %w", id, session.ErrNotFound)
	}
	if at.After(r.s.LastSeenAt) {
		r.s.LastSeenAt = at
	}
	return st.outLocked(r), nil
}

// TouchSessions implements session.Store. Like TouchSession it always
// records at, unless at is before the recorded LastSeenAt.
func (st *Store) TouchSessions(_ context.Context, ids []uuid.UUID, at time.Time) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, id := range ids {
		if r, ok := st.sessions[id]; ok && at.After(r.s.LastSeenAt) {
			r.s.LastSeenAt = at
		}
	}
	return nil
}

// RotateRefresh implements session.Store. A newHash already stored (as any
// session's current or former hash) is refused and nothing changes. Only the
// newest formerHashes former hashes of a session are kept.
func (st *Store) RotateRefresh(_ context.Context, oldHash, newHash []byte, now, idleUntil time.Time, client session.ClientInfo) (session.Session, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	id, isCurrent := st.current[string(oldHash)]
	if !isCurrent {
		var isFormer bool
		if id, isFormer = st.former[string(oldHash)]; !isFormer {
			return session.Session{}, fmt.Errorf("rotate refresh token: %w", session.ErrNotFound)
		}
	}
	r := st.sessions[id]
	switch {
	case r.s.Revoked():
		return session.Session{}, fmt.Errorf("rotate refresh token of session %s: %w", id, session.ErrRevoked)
	case !r.s.ExpiresAt.After(now):
		return session.Session{}, fmt.Errorf("rotate refresh token of session %s: %w", id, session.ErrExpired)
	case !isCurrent:
		st.revokeLocked(r, now, session.ReasonReuse)
		return session.Session{}, fmt.Errorf("rotate refresh token of session %s: %w", id, session.ErrRefreshReused)
	}
	if st.hashUsedLocked(newHash) {
		return session.Session{}, fmt.Errorf("rotate refresh token of session %s: new hash already in use", id)
	}
	delete(st.current, string(oldHash))
	st.former[string(oldHash)] = id
	r.former = append(r.former, string(oldHash))
	if n := len(r.former) - formerHashes; n > 0 {
		for _, h := range r.former[:n] {
			delete(st.former, h)
		}
		r.former = slices.Delete(r.former, 0, n)
	}
	st.current[string(newHash)] = id
	r.s.RefreshHash = bytes.Clone(newHash)
	r.s.LastSeenAt = now
	r.s.ExpiresAt = idleUntil
	if r.s.MaxExpiresAt.Before(idleUntil) {
		r.s.ExpiresAt = r.s.MaxExpiresAt
	}
	client = client.Recorded()
	r.s.IP = client.IP
	r.s.UserAgent = client.UserAgent
	return st.outLocked(r), nil
}

// RevokeSession implements session.Store.
func (st *Store) RevokeSession(_ context.Context, id uuid.UUID, at time.Time, reason string) (session.Session, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	r, ok := st.sessions[id]
	if !ok {
		return session.Session{}, fmt.Errorf("revoke session %s: %w", id, session.ErrNotFound)
	}
	if !r.s.Revoked() {
		st.revokeLocked(r, at, reason)
	}
	return st.outLocked(r), nil
}

// RevokePlayerSessions implements session.Store. The sessions are returned
// oldest first.
func (st *Store) RevokePlayerSessions(_ context.Context, playerID uuid.UUID, at time.Time, reason string) ([]session.Session, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	active := st.playerRowsLocked(playerID, at, false)
	revoked := make([]session.Session, 0, len(active))
	for _, r := range active {
		st.revokeLocked(r, at, reason)
		revoked = append(revoked, st.outLocked(r))
	}
	return revoked, nil
}

// PlayerSessions implements session.Store. Sessions created at the same
// time are ordered by ID.
func (st *Store) PlayerSessions(_ context.Context, playerID uuid.UUID, now time.Time, all bool) ([]session.Session, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	rows := st.playerRowsLocked(playerID, now, all)
	out := make([]session.Session, 0, len(rows))
	for _, r := range rows {
		out = append(out, st.outLocked(r))
	}
	return out, nil
}

// DeleteExpired implements session.Store.
func (st *Store) DeleteExpired(_ context.Context, now time.Time) (int, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := 0
	for id, r := range st.sessions {
		if r.s.ExpiresAt.After(now) {
			continue
		}
		for _, h := range r.former {
			delete(st.former, h)
		}
		delete(st.current, string(r.s.RefreshHash))
		delete(st.owned[r.s.PlayerID], id)
		delete(st.sessions, id)
		n++
	}
	for id, p := range st.players {
		if len(st.owned[id]) == 0 {
			delete(st.owned, id)
			delete(st.names, p.Username)
			delete(st.players, id)
		}
	}
	return n, nil
}

// checkNewLocked reports why s cannot be inserted: its ID or refresh hash is
// already stored.
func (st *Store) checkNewLocked(s session.Session) error {
	if _, ok := st.sessions[s.ID]; ok {
		return errors.New("session id already exists")
	}
	if st.hashUsedLocked(s.RefreshHash) {
		return errors.New("refresh hash already in use")
	}
	return nil
}

// hashUsedLocked reports whether h is a current or former refresh hash of a
// stored session. The empty hash is never indexed, so never in use.
func (st *Store) hashUsedLocked(h []byte) bool {
	if len(h) == 0 {
		return false
	}
	_, cur := st.current[string(h)]
	_, old := st.former[string(h)]
	return cur || old
}

// insertLocked stores a copy of s, whose player exists.
func (st *Store) insertLocked(s session.Session) {
	s = s.Recorded()
	s.Username = ""
	s.RefreshHash = bytes.Clone(s.RefreshHash)
	st.sessions[s.ID] = &row{s: s}
	st.owned[s.PlayerID][s.ID] = true
	if len(s.RefreshHash) > 0 {
		st.current[string(s.RefreshHash)] = s.ID
	}
}

// playerRowsLocked returns the player's sessions, oldest first: all of them,
// or only those active at now.
func (st *Store) playerRowsLocked(playerID uuid.UUID, now time.Time, all bool) []*row {
	var rows []*row
	for id := range st.owned[playerID] {
		r := st.sessions[id]
		if all || r.s.Active(now) {
			rows = append(rows, r)
		}
	}
	slices.SortFunc(rows, func(a, b *row) int {
		if c := a.s.CreatedAt.Compare(b.s.CreatedAt); c != 0 {
			return c
		}
		return bytes.Compare(a.s.ID[:], b.s.ID[:])
	})
	return rows
}

// revokeLocked revokes r, which is not revoked, and publishes the
// revocation. Subscribers see it after the state change, since their
// callbacks run only once st.mu is released.
func (st *Store) revokeLocked(r *row, at time.Time, reason string) {
	r.s.RevokedAt = at
	r.s.RevokedReason = reason
	rev := session.Revocation{SessionID: r.s.ID, PlayerID: r.s.PlayerID, Reason: reason}
	for sub := range st.subs {
		sub.push(rev)
	}
}

// outLocked returns a copy of r's session for a caller, with the player's
// username joined in.
func (st *Store) outLocked(r *row) session.Session {
	s := r.s
	s.Username = st.players[s.PlayerID].Username
	s.RefreshHash = bytes.Clone(s.RefreshHash)
	return s
}
