package session_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/bigtwo/gateway/session"
	"github.com/bigtwo/gateway/store/memory"
)

// fakeFeed is a Feed whose Synced the test sets; now, when set, makes it
// synced at every instant it is asked (a healthy feed).
type fakeFeed struct {
	mu     sync.Mutex
	synced time.Time
	now    func() time.Time
}

func (f *fakeFeed) Synced() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.now != nil {
		return f.now()
	}
	return f.synced
}

func (f *fakeFeed) set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.synced = t
}

// fastService is a Service with a feed over the memory store, with its
// metrics on a registry of its own.
type fastService struct {
	svc   *session.Service
	store *memory.Store
	keys  *session.KeyRing
	reg   *prometheus.Registry
}

func newFastService(t *testing.T, feed session.Feed, opts session.Options) *fastService {
	t.Helper()
	keys, err := session.NewKeyRing([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	opts.Feed = feed
	opts.Metrics = session.NewMetrics(reg)
	st := memory.New()
	return &fastService{
		svc:   session.NewService(st, keys, zerolog.New(zerolog.NewTestWriter(t)), opts),
		store: st,
		keys:  keys,
		reg:   reg,
	}
}

// validations returns gateway_session_validations_total{path, result}.
func validations(t *testing.T, reg *prometheus.Registry, path, result string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gateway_session_validations_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["path"] == path && labels["result"] == result {
				return int(m.GetCounter().GetValue())
			}
		}
	}
	return 0
}

// remembered returns gateway_session_revocations_remembered.
func remembered(t *testing.T, reg *prometheus.Registry) int {
	t.Helper()
	n, err := testutil.GatherAndCount(reg, "gateway_session_revocations_remembered")
	if err != nil || n != 1 {
		t.Fatalf("gateway_session_revocations_remembered: %d series, %v", n, err)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "gateway_session_revocations_remembered" {
			return int(mf.GetMetric()[0].GetGauge().GetValue())
		}
	}
	return -1
}

func (f *fastService) create(t *testing.T) session.Issued {
	t.Helper()
	is, err := f.svc.Create(t.Context(), "", session.ClientInfo{IP: "192.0.2.1", UserAgent: "test"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return is
}

// The fast path trusts the feed, not the store: a session revoked in the
// store alone (no feed delivered it) still gets in while the feed is
// synced, and is refused once Revoked hears of it. Every other case asks
// the store: no sync yet, a sync older than FeedWindow, a token that lives
// longer than TokenTTL, and Validate always.
func TestAuthenticateFastPath(t *testing.T) {
	clk := &clock{now: time.Now()}
	feed := &fakeFeed{}
	f := newFastService(t, feed, session.Options{Now: clk.Now})
	is := f.create(t)
	rev := session.Revocation{SessionID: is.Session.ID, PlayerID: is.Session.PlayerID, Reason: session.ReasonAdmin}
	if _, err := f.store.RevokeSession(t.Context(), is.Session.ID, clk.Now(), session.ReasonAdmin); err != nil {
		t.Fatal(err)
	}
	type want struct {
		path string
		err  error
	}
	steps := []struct {
		name  string
		setup func()
		call  func() error
		want  want
	}{
		{"feed never synced: the store", func() {}, nil, want{"store", session.ErrRevoked}},
		{"feed synced: the fast path lets in what the feed did not revoke", func() { feed.set(clk.Now()) }, nil, want{"fast", nil}},
		{"sync exactly FeedWindow old: still fast", func() { clk.Advance(3 * time.Second) }, nil, want{"fast", nil}},
		{"sync older than FeedWindow: the store", func() { clk.Advance(time.Nanosecond) }, nil, want{"store", session.ErrRevoked}},
		{"synced again", func() { feed.set(clk.Now()) }, nil, want{"fast", nil}},
		{"Validate always asks the store", func() {}, func() error {
			_, err := f.svc.Validate(t.Context(), is.Token)
			return err
		}, want{"store", session.ErrRevoked}},
		{"delivered by the feed: refused on the fast path", func() { f.svc.Revoked(rev) }, nil, want{"fast", session.ErrRevoked}},
	}
	counts := map[want]int{}
	for _, st := range steps {
		st.setup()
		call := st.call
		if call == nil {
			call = func() error {
				_, err := f.svc.Authenticate(t.Context(), is.Token)
				return err
			}
		}
		err := call()
		if !errors.Is(err, st.want.err) || (st.want.err == nil && err != nil) {
			t.Fatalf("%s: error = %v, want %v", st.name, err, st.want.err)
		}
		result := "ok"
		if st.want.err != nil {
			result = "session_revoked"
		}
		counts[want{st.want.path, st.want.err}]++
		if got, wantN := validations(t, f.reg, st.want.path, result), counts[want{st.want.path, st.want.err}]; got != wantN {
			t.Fatalf("%s: gateway_session_validations_total{path=%q,result=%q} = %d, want %d", st.name, st.want.path, result, got, wantN)
		}
	}
}

// A token that lives longer than this Service's TokenTTL (another gateway
// configured otherwise signed it) may outlive the revocations the set
// remembers: it goes to the store.
func TestAuthenticateLongTokenAsksTheStore(t *testing.T) {
	feed := &fakeFeed{now: time.Now}
	f := newFastService(t, feed, session.Options{TokenTTL: time.Hour})
	long := session.NewService(f.store, f.keys, zerolog.Nop(), session.Options{TokenTTL: 2 * time.Hour})
	is, err := long.Create(t.Context(), "", session.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(t.Context(), is.Token); err != nil {
		t.Fatalf("Authenticate = %v", err)
	}
	if got := validations(t, f.reg, "store", "ok"); got != 1 {
		t.Errorf("store validations = %d, want 1 (fast: %d)", got, validations(t, f.reg, "fast", "ok"))
	}
}

// Without a feed Authenticate is Validate, and Revoked remembers nothing.
func TestAuthenticateWithoutFeed(t *testing.T) {
	f := newFastService(t, nil, session.Options{})
	is := f.create(t)
	f.svc.Revoked(session.Revocation{SessionID: is.Session.ID, PlayerID: is.Session.PlayerID})
	if _, err := f.svc.Authenticate(t.Context(), is.Token); err != nil {
		t.Fatalf("Authenticate = %v, want nil (Revoked without a feed is a no-op)", err)
	}
	if got := validations(t, f.reg, "store", "ok"); got != 1 {
		t.Errorf("store validations = %d, want 1", got)
	}
	if got := remembered(t, f.reg); got != 0 {
		t.Errorf("revocations remembered = %d, want 0", got)
	}
}

// A revocation is remembered for TokenTTL + RevocationMargin from when it
// was delivered: exactly as long as a token issued before it may live.
func TestRevokedForgottenAfterReach(t *testing.T) {
	clk := &clock{now: time.Now()}
	feed := &fakeFeed{now: clk.Now}
	const ttl = 10 * time.Minute
	f := newFastService(t, feed, session.Options{Now: clk.Now, TokenTTL: ttl})
	is := f.create(t)
	rev := session.Revocation{SessionID: is.Session.ID, PlayerID: is.Session.PlayerID, Reason: session.ReasonLogout}
	f.svc.Revoked(rev)
	f.svc.Revoked(rev) // delivered twice (re-read and notification): one entry
	if got := remembered(t, f.reg); got != 1 {
		t.Fatalf("remembered = %d, want 1", got)
	}
	other := session.Revocation{SessionID: uuid.New()}
	clk.Advance(session.FeedReach(ttl) - time.Nanosecond)
	f.svc.Revoked(other) // prunes what has passed
	if got := remembered(t, f.reg); got != 2 {
		t.Fatalf("remembered just before the reach = %d, want 2", got)
	}
	clk.Advance(time.Nanosecond)
	f.svc.Revoked(other)
	if got := remembered(t, f.reg); got != 1 {
		t.Fatalf("remembered at the reach = %d, want 1 (the first forgotten)", got)
	}
	if session.FeedReach(ttl) != ttl+time.Minute {
		t.Errorf("FeedReach(%v) = %v, want %v", ttl, session.FeedReach(ttl), ttl+time.Minute)
	}
}

// Run records the last use of the sessions the fast path let in every
// TouchInterval, once more when it ends, and prunes the revoked set.
func TestRunRecordsFastPathUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		feed := &fakeFeed{now: time.Now}
		const ttl = 10 * time.Minute
		f := newFastService(t, feed, session.Options{TokenTTL: ttl})
		is := f.create(t)
		created := is.Session.LastSeenAt
		lastSeen := func() time.Time {
			s, err := f.store.Session(t.Context(), is.Session.ID)
			if err != nil {
				t.Fatal(err)
			}
			return s.LastSeenAt
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- f.svc.Run(ctx) }()

		time.Sleep(2*time.Minute + 10*time.Second) // between two ticks
		if _, err := f.svc.Authenticate(t.Context(), is.Token); err != nil {
			t.Fatalf("Authenticate = %v", err)
		}
		f.svc.Revoked(session.Revocation{SessionID: uuid.New()})
		synctest.Wait()
		if got := lastSeen(); !got.Equal(created) {
			t.Fatalf("LastSeenAt = %v before the flush, want %v (the fast path asks no store)", got, created)
		}
		time.Sleep(20 * time.Second) // the tick at 2m30s
		synctest.Wait()
		if got, want := lastSeen(), created.Add(2*time.Minute+30*time.Second); !got.Equal(want) {
			t.Fatalf("LastSeenAt = %v after the flush, want %v", got, want)
		}

		// The revocation of 2m10s is forgotten at 2m10s + FeedReach, by the
		// tick that follows.
		time.Sleep(session.FeedReach(ttl) + 10*time.Second)
		synctest.Wait()
		if got := remembered(t, f.reg); got != 0 {
			t.Errorf("remembered = %d after its reach and a tick, want 0", got)
		}
		is = f.create(t) // the first token has expired by now
		if _, err := f.svc.Authenticate(t.Context(), is.Token); err != nil {
			t.Fatalf("Authenticate = %v", err)
		}
		time.Sleep(time.Second)
		end := time.Now()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		if got := lastSeen(); !got.Equal(end) {
			t.Errorf("LastSeenAt = %v after Run returned, want %v (the last flush)", got, end)
		}
	})
}
