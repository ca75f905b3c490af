package memory

import (
	"context"
	"sync"

	"github.com/bigtwo/gateway/session"
)

// Watch calls fn for every revocation this store makes from the time ready
// is called until ctx ends; then it returns nil. fn is called from Watch's
// goroutine, one call at a time, after the revocation is visible in the
// store; a slow fn delays only its own Watch: publishers never wait for it
// and nothing is dropped (revocations queue until fn takes them). ready may
// be nil. Revocations still queued when ctx ends are discarded.
func (st *Store) Watch(ctx context.Context, fn func(session.Revocation), ready func()) error {
	sub := &subscriber{wake: make(chan struct{}, 1)}
	st.mu.Lock()
	st.subs[sub] = struct{}{}
	st.mu.Unlock()
	defer func() {
		st.mu.Lock()
		delete(st.subs, sub)
		st.mu.Unlock()
	}()
	if ready != nil {
		ready()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sub.wake:
		}
		for _, rev := range sub.take() {
			if ctx.Err() != nil {
				return nil
			}
			fn(rev)
		}
	}
}

// subscriber is one Watch call's queue. push never blocks on the reader.
type subscriber struct {
	mu    sync.Mutex
	queue []session.Revocation // guarded by mu
	// wake holds a pending wake-up for the reader. It has one slot: when it
	// is full the reader has not yet emptied the queue and will see the
	// newly queued revocation too, so push drops the extra wake-up.
	wake chan struct{}
}

// push queues rev and wakes the reader.
func (sub *subscriber) push(rev session.Revocation) {
	sub.mu.Lock()
	sub.queue = append(sub.queue, rev)
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

// take empties the queue and returns what it held, oldest first.
func (sub *subscriber) take() []session.Revocation {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	q := sub.queue
	sub.queue = nil
	return q
}
