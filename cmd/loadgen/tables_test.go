package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bigtwo/gateway/gateway/app"
	"github.com/bigtwo/gateway/gateway/room/bigtwo"
)

// startGateway runs the real gateway in process (package app with the
// shipped rooms, as cmd/gateway does) on a free loopback port with env on
// top of the load-test settings, waits until it is ready, and stops it at
// cleanup.
func startGateway(t *testing.T, env map[string]string) string {
	t.Helper()
	vars := map[string]string{
		"GATEWAY_ADDR":               "127.0.0.1:0",
		"GATEWAY_LOG_LEVEL":          "info",
		"GATEWAY_SESSION_RATE":       "off",
		"GATEWAY_MAX_PENDING_PER_IP": "1000",
	}
	for k, v := range env {
		vars[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var runErr error
	exited := make(chan struct{})
	go func() { // awaited at cleanup
		runErr = app.Run(ctx, []string{"gateway"}, func(k string) string { return vars[k] }, pw, io.Discard, app.Options{})
		pw.Close()
		close(exited)
	}()
	addr := make(chan string, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var l struct {
				Msg  string `json:"message"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "listening" {
				addr <- l.Addr
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	})
	t.Cleanup(func() {
		cancel()
		<-exited
		wg.Wait()
		if runErr != nil {
			t.Errorf("gateway: %v", runErr)
		}
	})
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-exited:
		t.Fatalf("gateway exited before listening: %v", runErr)
	case <-time.After(10 * time.Second):
		t.Fatal("gateway did not log listening within 10s")
	}
	ready := waitFor(t.Context(), 10*time.Second, func() bool {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	if !ready {
		t.Fatal("gateway not ready within 10s")
	}
	return base
}

// TestTablesMode plays two tables against the real gateway for a few
// seconds: real hands, every move delivered to all four, nothing refused.
func TestTablesMode(t *testing.T) {
	base := startGateway(t, map[string]string{"GATEWAY_TURN_TIMEOUT": "10m"})
	s := runJSON(t, "tables", "-url", base, "-tables", "2", "-rate", "100", "-duration", "3s")
	if s.Sockets != 8 || s.Tables != 2 {
		t.Fatalf("sockets, tables = %d, %d, want 8, 2", s.Sockets, s.Tables)
	}
	p := s.Play
	if p == nil || p.Sit == nil || p.Deal == nil || p.Move == nil {
		t.Fatalf("play = %+v, want sit, deal and move figures", p)
	}
	if p.Sit.Count != 8 || p.Sit.Errors != 0 {
		t.Errorf("sit = %+v, want 8 seated, no error", p.Sit)
	}
	m := p.Move
	if m.Sent == 0 || m.Count == 0 {
		t.Errorf("move = %+v, want moves sent and delivered", m)
	}
	if m.Lost != 0 || m.Errors != 0 || p.Acked != m.Sent || m.Count != m.Sent {
		t.Errorf("move = %+v, acked %d: want every move acknowledged and delivered, none refused", m, p.Acked)
	}
	if p.Plays+p.Passes != p.Acked || p.BotMoves+p.RandomMoves != m.Sent {
		t.Errorf("plays %d + passes %d, bot %d + random %d: want acked %d and sent %d", p.Plays, p.Passes, p.BotMoves, p.RandomMoves, p.Acked, m.Sent)
	}
	if p.FirstDeal == nil || p.FirstDeal.Count != 2 || p.FirstDeal.Errors != 0 || p.Deal.Errors != 0 {
		t.Errorf("first deal = %+v, deal = %+v: want both tables dealt, no error", p.FirstDeal, p.Deal)
	}
	// A hand has at most 52 plays and 3 passes after each: a table that
	// moved more often than that has dealt again.
	t.Logf("%d moves delivered, %d hands ended, %d dealt again", m.Count, p.Hands, p.Deal.Count)
	if m.Count > 2*4*52 && (p.Hands == 0 || p.Deal.Count == 0) {
		t.Errorf("%d moves at two tables but %d hands ended and %d dealt again, want a hand over and a new deal", m.Count, p.Hands, p.Deal.Count)
	}
	if p.Deal.Count > p.Hands {
		t.Errorf("dealt again %d times after %d hands", p.Deal.Count, p.Hands)
	}
	if p.Diverged != 0 {
		t.Errorf("diverged = %d, want the four copies of every state equal", p.Diverged)
	}
	if p.SourceAddrs != 1 {
		t.Errorf("source addresses = %d, want 1 for two tables", p.SourceAddrs)
	}
	if mem := s.Memory; mem == nil || mem.Before == 0 || mem.End == 0 || mem.EndAfter != "play" {
		t.Errorf("memory = %+v, want RSS before and after play", s.Memory)
	} else {
		var labels []string
		for _, sm := range mem.Samples {
			labels = append(labels, sm.Label)
		}
		if diff := cmp.Diff([]string{"connected", "seated", "after play"}, labels); diff != "" {
			t.Errorf("memory samples mismatch (-want +got):\n%s", diff)
		}
	}
	checkCPU(t, s, []string{"sessions", "connect", "sit", "deal", "play"}, map[string]int64{"sit": 8, "deal": 2, "play": m.Count})
}

// TestRandomMoveIsLegal plays whole hands with randomMove chosen from each
// seat's own view (its cards, the trick): the rules accept every move and
// every hand ends.
func TestRandomMoveIsLegal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var plays, passes, fives int
	for hand := range 300 {
		hands, err := bigtwo.Deal(rand.NewChaCha8([32]byte{byte(hand), byte(hand >> 8)}))
		if err != nil {
			t.Fatal(err)
		}
		g := bigtwo.NewGame(hands, hand%2 == 0, hand%bigtwo.Seats)
		for moves := 0; !g.Over(); moves++ {
			if moves > 4*52 {
				t.Fatalf("hand %d: no end after %d moves", hand, moves)
			}
			seat := g.Turn
			seen := *g
			seen.Hands = [bigtwo.Seats][]bigtwo.Card{}
			seen.Hands[seat] = g.Hands[seat]
			cards := randomMove(&seen, seat, rng)
			if cards == nil {
				if err := g.Pass(seat); err != nil {
					t.Fatalf("hand %d: pass for seat %d: %v", hand, seat, err)
				}
				passes++
				continue
			}
			if _, err := g.Play(seat, cards); err != nil {
				t.Fatalf("hand %d: play %v for seat %d on %+v: %v", hand, cards, seat, seen.Current, err)
			}
			plays++
			if len(cards) == 5 {
				fives++
			}
		}
	}
	if passes == 0 || fives == 0 {
		t.Errorf("%d plays (%d of five cards), %d passes: want passes and five-card plays among them", plays, fives, passes)
	}
}

func TestSourceClients(t *testing.T) {
	tests := []struct {
		url     string
		sockets int
		want    int // clients, 0 for none
	}{
		{"http://127.0.0.1:8080", 10000, 50},
		{"http://127.0.0.1:8080", 8, 1},
		{"http://localhost:8080", 201, 2},
		{"http://[::1]:8080", 10000, 0},
		{"https://gateway.example.com", 10000, 0},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		lg := newLoadgen(config{Timeout: time.Second}, io.Discard)
		clients, addrs := sourceClients(lg, target{base: u}, tt.sockets)
		if len(clients) != tt.want || addrs != max(tt.want, 1) {
			t.Errorf("sourceClients(%s, %d) = %d clients, %d addresses, want %d", tt.url, tt.sockets, len(clients), addrs, tt.want)
		}
	}
}
