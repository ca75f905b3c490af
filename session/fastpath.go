package session

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Authenticate's fast path. An access token is signed by us, never outlives
// its session when it is issued, and a session only ever gets longer
// (refresh) or ends by revocation or expiry, its row deleted only once
// expired. So a token that verifies is good unless its session was revoked,
// and the revocations a socket's token may meet are those the revocation
// feed delivers: a Service with a Feed keeps them in memory (Revoked) and,
// while the feed proves them complete, lets sockets in without asking the
// store.

// Feed is what Authenticate's fast path needs of the revocation feed:
// store/postgres.Store implements it. The feed's callback (the store's
// Watch) must pass every revocation it delivers to Service.Revoked before
// it returns, and the feed's first re-read must reach FeedReach(TokenTTL)
// back.
type Feed interface {
	// Synced returns a time T, by this process's clock, such that every
	// revocation committed before T has been delivered to the feed's
	// callback; the zero time when there is none (the feed is down, or has
	// not yet delivered its first re-read).
	Synced() time.Time
}

// RevocationMargin is how much longer than the access token lifetime the
// fast path remembers a revocation, and how much further back than it the
// feed's first re-read reaches: it covers a token signed just after its
// session was revoked (a refresh that committed first), the clocks of
// gateways and of the database disagreeing by seconds, and iat's 5 s
// leeway.
const RevocationMargin = time.Minute

// FeedReach is how far before it starts a Feed must deliver revocations for
// the fast path to be complete from its first use: every revocation a
// token still valid may meet, tokenTTL plus RevocationMargin.
func FeedReach(tokenTTL time.Duration) time.Duration { return tokenTTL + RevocationMargin }

// touchBatch is how many sessions one TouchSessions call of Run records.
const touchBatch = 1000

// fastPath reports whether Authenticate may trust the revoked set for a
// token with claims: the feed is synced within FeedWindow, and the token
// lives no longer than this Service's tokens (a gateway configured with a
// longer lifetime issued it, and the set may forget its revocation too
// early).
func (s *Service) fastPath(claims AccessClaims) bool {
	if s.feed == nil || claims.ExpiresAt.Sub(claims.IssuedAt) > s.opts.TokenTTL {
		return false
	}
	synced := s.feed.Synced()
	// s.opts.Now, not s.now: time.Now's monotonic reading, which Synced's
	// has too, makes this immune to steps of the wall clock.
	return !synced.IsZero() && s.opts.Now().Sub(synced) <= s.opts.FeedWindow
}

// authenticateFast is Authenticate once fastPath said yes: the token has
// been verified, and every revocation committed before the feed's Synced,
// at most FeedWindow ago, is in the set by now.
func (s *Service) authenticateFast(claims AccessClaims) (Identity, error) {
	if s.revoked.has(claims.SessionID) {
		err := fmt.Errorf("session %s: %w", claims.SessionID, ErrRevoked)
		s.m.validated(pathFast, err)
		return Identity{}, err
	}
	s.touched.add(claims.SessionID)
	s.m.validated(pathFast, nil)
	return Identity{
		PlayerID:  claims.PlayerID,
		SessionID: claims.SessionID,
		Username:  claims.Username,
		IssuedAt:  claims.IssuedAt,
		ExpiresAt: claims.ExpiresAt,
	}, nil
}

// Revoked records that r's session was revoked, for Authenticate's fast
// path, and remembers it for FeedReach(TokenTTL) from now: until no token
// issued before the revocation can still be valid. The Feed's callback
// calls it with every revocation the feed delivers, before returning.
// Without a Feed it does nothing. It does not block for long and is safe
// for concurrent use.
func (s *Service) Revoked(r Revocation) {
	if s.feed == nil {
		return
	}
	now := s.opts.Now()
	n := s.revoked.add(r.SessionID, now.Add(FeedReach(s.opts.TokenTTL)), now)
	s.m.remembered.Set(float64(n))
}

// pruneRevoked forgets the revocations whose time has passed.
func (s *Service) pruneRevoked() {
	if s.feed == nil {
		return
	}
	s.m.remembered.Set(float64(s.revoked.prune(s.opts.Now())))
}

// flushTouches records the last use of the sessions Authenticate let in
// since the last flush, touchBatch at a time, each call within the store
// timeout. A batch that fails goes back, with those not yet sent, for the
// next flush: they are few (one entry per session), and LastSeenAt is
// coarse anyway.
func (s *Service) flushTouches(ctx context.Context) {
	ids := s.touched.take()
	if len(ids) == 0 {
		return
	}
	at := s.now().Truncate(time.Microsecond)
	for len(ids) > 0 {
		batch := ids[:min(len(ids), touchBatch)]
		sctx, cancel := s.storeCtx(ctx)
		start := time.Now()
		err := s.store.TouchSessions(sctx, batch, at)
		s.m.storeDone("touch_sessions", start, err)
		cancel()
		if err != nil {
			s.touched.putBack(ids)
			s.log.Error().Err(err).Int("sessions", len(ids)).Msg("recording last use failed; retried at the next flush")
			return
		}
		ids = ids[len(batch):]
	}
}

// revokedSet is the revoked sessions the fast path knows of, each until its
// time to be forgotten. It is safe for concurrent use.
type revokedSet struct {
	mu sync.RWMutex
	// until maps a session to when it may be forgotten.
	until map[uuid.UUID]time.Time
	// queue holds the additions in order, for prune; an entry whose time
	// is no longer its session's in until was superseded by a later one.
	queue []revokedEntry
}

type revokedEntry struct {
	id    uuid.UUID
	until time.Time
}

// has reports whether session id is in the set.
func (r *revokedSet) has(id uuid.UUID) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.until[id]
	return ok
}

// add remembers id until until (a later time wins), prunes what has passed
// at now, and returns the set's size.
func (r *revokedSet) add(id uuid.UUID, until, now time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.until == nil {
		r.until = make(map[uuid.UUID]time.Time)
	}
	if old, ok := r.until[id]; !ok || until.After(old) {
		r.until[id] = until
		r.queue = append(r.queue, revokedEntry{id, until})
	}
	return r.pruneLocked(now)
}

// prune forgets what has passed at now and returns the set's size.
func (r *revokedSet) prune(now time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pruneLocked(now)
}

// pruneLocked forgets the entries at the queue's head whose time has
// passed at now. The queue is in order of addition, whose times only grow
// unless the clock steps back: then a few entries are kept longer, never
// shorter.
func (r *revokedSet) pruneLocked(now time.Time) int {
	i := 0
	for ; i < len(r.queue) && !now.Before(r.queue[i].until); i++ {
		e := r.queue[i]
		if r.until[e.id].Equal(e.until) {
			delete(r.until, e.id)
		}
	}
	r.queue = r.queue[i:]
	return len(r.until)
}

// touchSet is the sessions the fast path let in since the last flush. It is
// safe for concurrent use.
type touchSet struct {
	mu  sync.Mutex
	ids map[uuid.UUID]struct{}
}

func (t *touchSet) add(id uuid.UUID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ids == nil {
		t.ids = make(map[uuid.UUID]struct{})
	}
	t.ids[id] = struct{}{}
}

// take empties the set and returns what it held.
func (t *touchSet) take() []uuid.UUID {
	t.mu.Lock()
	ids := t.ids
	t.ids = nil
	t.mu.Unlock()
	out := make([]uuid.UUID, 0, len(ids))
	for id := range ids {
		out = append(out, id)
	}
	return out
}

// putBack returns ids to the set, after a failed flush.
func (t *touchSet) putBack(ids []uuid.UUID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ids == nil {
		t.ids = make(map[uuid.UUID]struct{}, len(ids))
	}
	for _, id := range ids {
		t.ids[id] = struct{}{}
	}
}
