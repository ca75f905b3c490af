package app_test

// Players of the multi-process cluster tests: a driver that plays a Big
// Two table with the contract's bot move, treating as acknowledged only a move whose
// game.state came back with the move's id, then checks what every socket
// ever received against the acknowledged history.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bigtwo/gateway/gateway/room/bigtwo"
)

const (
	// e2eWait bounds waiting for a frame that must come.
	e2eWait = 10 * time.Second
	// retryEvery is how long a player waits before sending again a move
	// answered unavailable (its table is between hosts).
	retryEvery = 100 * time.Millisecond
)

// tableState is game.state as a client reads it.
type tableState struct {
	Table  string      `json:"table"`
	Status string      `json:"status"`
	HandNo int         `json:"hand_no"`
	Seats  []seatState `json:"seats"`
	Turn   *int        `json:"turn"`
	Leader *int        `json:"leader"`
	// Current is the play to beat.
	Current *struct {
		Seat  int           `json:"seat"`
		Cards []bigtwo.Card `json:"cards"`
		Combo string        `json:"combo"`
	} `json:"current"`
	Passes     int  `json:"passes"`
	FirstTrick bool `json:"first_trick"`
}

type seatState struct {
	Seat   int `json:"seat"`
	Player *struct {
		PlayerID string `json:"player_id"`
	} `json:"player"`
	Bot   bool `json:"bot"`
	Away  bool `json:"away"`
	Cards int  `json:"cards"`
	Score int  `json:"score"`
}

func decodeState(t *testing.T, f wsFrame) tableState {
	t.Helper()
	var st tableState
	if err := json.Unmarshal(f.Data, &st); err != nil {
		t.Fatalf("game.state %s: %v", f.Data, err)
	}
	return st
}

// key is the state as the table's history knows it: everything a move
// changes (not away, which comes and goes with sockets).
func (st tableState) key() string {
	seats := slices.Clone(st.Seats)
	for i := range seats {
		seats[i].Away = false
	}
	st.Seats = seats
	b, _ := json.Marshal(st)
	return string(b)
}

func (st tableState) turn() int {
	if st.Turn == nil {
		return -1
	}
	return *st.Turn
}

func handKey(cards []bigtwo.Card) string {
	b, _ := json.Marshal(cards)
	return string(b)
}

// e2ePlayer is a player with the socket it plays through now.
type e2ePlayer struct {
	name  string
	id    string
	token string
	seat  int
	c     *wsConn
}

// e2eTable plays one table with four players spread over the cluster.
type e2eTable struct {
	t       *testing.T
	cl      *e2eCluster
	name    string
	players []*e2ePlayer
	conns   []*wsConn // every socket ever opened, for check

	acked   tableState       // the last acknowledged state
	history map[string]int   // key of each acknowledged state -> its order
	hands   []map[string]int // per player: each acknowledged hand -> its order
	hand    [][]bigtwo.Card  // per player: the acknowledged hand
	n       int              // acknowledged states so far
	moves   int
	// lost counts moves that were applied but whose answer was lost (the
	// host died or drained between the commit and the reply).
	lost int
}

// newTable creates four players and opens each one's socket, on gateways
// a, b, c, a.
func newTable(t *testing.T, cl *e2eCluster, name string) *e2eTable {
	t.Helper()
	tb := &e2eTable{t: t, cl: cl, name: name, history: map[string]int{}}
	for i := range 4 {
		g := cl.gws[i%len(cl.gws)]
		status, body, err := postSession(cl, g)
		if err != nil || status != http.StatusCreated {
			t.Fatalf("POST /session on %s = %d %s %v", g.name, status, body, err)
		}
		var s struct {
			Token    string `json:"token"`
			PlayerID string `json:"player_id"`
		}
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			t.Fatal(err)
		}
		p := &e2ePlayer{name: fmt.Sprintf("p%d", i), id: s.PlayerID, token: s.Token, seat: -1}
		tb.players = append(tb.players, p)
		tb.hands = append(tb.hands, map[string]int{})
		tb.hand = append(tb.hand, nil)
		tb.open(p, g)
	}
	return tb
}

func postSession(cl *e2eCluster, g *e2eGateway) (int, string, error) {
	res, err := cl.http.Post(g.url("/session"), "application/json", nil)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// open gives p a new socket on g (the old one, if any, stays as it is).
func (tb *e2eTable) open(p *e2ePlayer, g *e2eGateway) {
	tb.t.Helper()
	p.c = dialWS(tb.t, g, p.token, p.id, p.name)
	tb.conns = append(tb.conns, p.c)
}

// reconnect moves p to the first usable gateway after the one it was on,
// with its old token.
func (tb *e2eTable) reconnect(p *e2ePlayer) {
	tb.t.Helper()
	from := slices.IndexFunc(tb.cl.gws, func(g *e2eGateway) bool { return g.name == p.c.gw })
	for k := 1; k <= len(tb.cl.gws); k++ {
		if g := tb.cl.gws[(from+k)%len(tb.cl.gws)]; g.usable() {
			tb.open(p, g)
			return
		}
	}
	tb.t.Fatalf("%s: no gateway to reconnect to", p.name)
}

func (tb *e2eTable) player(seat int) *e2ePlayer {
	for _, p := range tb.players {
		if p.seat == seat {
			return p
		}
	}
	tb.t.Fatalf("no player at seat %d", seat)
	return nil
}

func (tb *e2eTable) index(p *e2ePlayer) int { return slices.Index(tb.players, p) }

// frame is a table frame of type typ with id and extra data fields.
func (tb *e2eTable) frame(typ, id, extra string) string {
	return fmt.Sprintf(`{"type":%q,"id":%q,"data":{"table":%q%s}}`, typ, id, tb.name, extra)
}

// reply is how a request ended: its game.state (ack), an error code, or
// the socket's end.
type reply struct {
	state  *tableState
	hand   []bigtwo.Card // a game.hand that came with the request's id
	code   string        // an error frame's code
	closed bool
}

// await reads p's frames until the answer to request id.
func (tb *e2eTable) await(p *e2ePlayer, id string, deadline time.Time, final string) reply {
	tb.t.Helper()
	var r reply
	for {
		f, err := p.c.next(deadline)
		if errors.Is(err, errReadTimeout) {
			tb.t.Fatalf("%s: no answer to %s by the deadline", p.c.name, id)
		}
		if err != nil {
			r.closed = true
			return r
		}
		if f.id() != id {
			continue
		}
		switch f.Type {
		case "error":
			var e struct{ Code, Message string }
			_ = json.Unmarshal(f.Data, &e)
			r.code = e.Code
			return r
		case "game.hand":
			var h struct{ Cards []bigtwo.Card }
			_ = json.Unmarshal(f.Data, &h)
			r.hand = h.Cards
		case final:
			if f.Type == "game.state" {
				st := decodeState(tb.t, f)
				r.state = &st
			}
			return r
		}
	}
}

// request sends a table frame from p until it is answered with final,
// retrying while it gets unavailable or p's gateway goes away.
func (tb *e2eTable) request(p *e2ePlayer, typ, final string) wsFrame {
	tb.t.Helper()
	deadline := time.Now().Add(e2eWait)
	for attempt := 0; ; attempt++ {
		if done, _ := p.c.closed(); done {
			tb.reconnect(p)
		}
		id := fmt.Sprintf("%s%d", strings.TrimPrefix(typ, "game."), attempt)
		p.c.send(tb.t, tb.frame(typ, id, ""))
		for {
			f, err := p.c.next(deadline)
			if errors.Is(err, errReadTimeout) {
				tb.t.Fatalf("%s: no answer to %s by the deadline", p.c.name, typ)
			}
			if err != nil {
				break
			}
			if f.id() != id {
				continue
			}
			if f.Type == final {
				return f
			}
			if f.Type == "error" {
				if !strings.Contains(string(f.Data), `"unavailable"`) {
					tb.t.Fatalf("%s: %s answered %s", p.c.name, typ, f.Data)
				}
				break
			}
		}
		time.Sleep(retryEvery) // the table is between hosts: send again
	}
}

// sit seats every player, in order, and returns when all have their seat.
func (tb *e2eTable) sit() {
	tb.t.Helper()
	for _, p := range tb.players {
		f := tb.request(p, "game.sit", "game.seated")
		var d struct{ Seat int }
		_ = json.Unmarshal(f.Data, &d)
		p.seat = d.Seat
	}
}

// start deals a hand (p0 asks) and waits until every player has their
// hand and the state.
func (tb *e2eTable) start() {
	tb.t.Helper()
	p := tb.players[0]
	id := fmt.Sprintf("start%d", tb.acked.HandNo+1)
	p.c.send(tb.t, tb.frame("game.start", id, ""))
	r := tb.await(p, id, time.Now().Add(e2eWait), "game.state")
	if r.state == nil {
		tb.t.Fatalf("game.start: %+v", r)
	}
	tb.ack(*r.state)
	for i, q := range tb.players {
		h := r.hand
		if q != p {
			h = tb.readHand(q)
		}
		tb.ackHand(i, h)
	}
	tb.sync(nil)
}

// readHand reads q's frames until a game.hand.
func (tb *e2eTable) readHand(q *e2ePlayer) []bigtwo.Card {
	tb.t.Helper()
	for {
		f, err := q.c.next(time.Now().Add(e2eWait))
		if err != nil {
			tb.t.Fatalf("%s: waiting for game.hand: %v", q.c.name, err)
		}
		if f.Type == "game.hand" {
			var h struct{ Cards []bigtwo.Card }
			_ = json.Unmarshal(f.Data, &h)
			return h.Cards
		}
	}
}

func (tb *e2eTable) ack(st tableState) {
	k := st.key()
	if _, ok := tb.history[k]; !ok {
		tb.history[k] = tb.n
		tb.n++
	}
	tb.acked = st
}

func (tb *e2eTable) ackHand(i int, cards []bigtwo.Card) {
	tb.hand[i] = cards
	if k := handKey(cards); k != "[]" {
		if _, ok := tb.hands[i][k]; !ok {
			tb.hands[i][k] = len(tb.hands[i])
		}
	}
}

// sync waits until every player but skip has seen the acknowledged state,
// reconnecting those whose socket ended.
func (tb *e2eTable) sync(skip *e2ePlayer) {
	tb.t.Helper()
	want := tb.acked.key()
	for _, q := range tb.players {
		if q == skip {
			continue
		}
		if f, ok := q.c.consumed(); ok && decodeState(tb.t, f).key() == want {
			continue
		}
		deadline := time.Now().Add(e2eWait)
		for {
			f, err := q.c.next(deadline)
			if errors.Is(err, errReadTimeout) {
				tb.t.Fatalf("%s: never saw the state of move %d: %s\nits last frames:\n%s", q.c.name, tb.moves, want, q.c.tail(8))
			}
			if err != nil {
				tb.reconnect(q)
				continue
			}
			if f.Type == "game.state" && decodeState(tb.t, f).key() == want {
				break
			}
		}
	}
}

func (tb *e2eTable) playing() bool { return tb.acked.Status == "playing" }

// move plays the bot move of the player whose turn it is and returns when
// it is acknowledged and everyone has seen it. A move answered
// unavailable, or whose player's socket ended, is sent again; if it turns
// out to have been applied meanwhile (its answer lost), the state that
// says so is taken as its acknowledgement.
func (tb *e2eTable) move() {
	tb.t.Helper()
	t := tb.t
	st := tb.acked
	if !tb.playing() {
		t.Fatalf("move with no hand being played: %s", st.key())
	}
	p := tb.player(st.turn())
	i := tb.index(p)
	g := bigtwo.Game{Turn: p.seat, Winner: -1, FirstTrick: st.FirstTrick}
	g.Hands[p.seat] = tb.hand[i]
	if st.Current != nil {
		var combo bigtwo.Combo
		_ = combo.UnmarshalText([]byte(st.Current.Combo))
		g.Current = &bigtwo.Trick{Seat: st.Current.Seat, Cards: st.Current.Cards, Combo: combo}
	}
	cards := g.BotMove(p.seat)
	after := slices.DeleteFunc(slices.Clone(tb.hand[i]), func(c bigtwo.Card) bool { return slices.Contains(cards, c) })
	tb.moves++
	deadline := time.Now().Add(e2eWait)
	ambiguous := false
	for attempt := 0; ; attempt++ {
		if time.Now().After(deadline) {
			t.Fatalf("move %d of %s not acknowledged by the deadline", tb.moves, p.name)
		}
		if done, _ := p.c.closed(); done {
			tb.reconnect(p)
		}
		id := fmt.Sprintf("m%d.%d", tb.moves, attempt)
		if cards == nil {
			p.c.send(t, tb.frame("game.pass", id, ""))
		} else {
			b, _ := json.Marshal(cards)
			p.c.send(t, tb.frame("game.play", id, `,"cards":`+string(b)))
		}
		r := tb.await(p, id, deadline, "game.state")
		switch {
		case r.state != nil:
			if cards != nil && handKey(r.hand) != handKey(after) {
				t.Fatalf("move %d: %s played %v from %v and got the hand %v", tb.moves, p.name, cards, tb.hand[i], r.hand)
			}
			tb.checkStep(st, *r.state, p.seat, len(cards))
			tb.ack(*r.state)
			tb.ackHand(i, after)
			tb.sync(p)
			return
		case r.closed || r.code == "unavailable":
			ambiguous = true
			time.Sleep(retryEvery) // the table is between hosts: send again
		case ambiguous && (r.code == "not_your_turn" || r.code == "no_game"):
			// An earlier attempt was applied and its answer lost: the
			// table's state says so (the host that took it over resent it).
			now := tb.latestState(p, st.key(), deadline)
			tb.checkStep(st, now, p.seat, len(cards))
			tb.lost++
			t.Logf("move %d of %s was applied but not acknowledged (%s)", tb.moves, p.name, r.code)
			tb.ack(now)
			tb.ackHand(i, after)
			tb.sync(nil)
			return
		default:
			t.Fatalf("move %d of %s (%v) on %s answered %q", tb.moves, p.name, cards, p.c.name, r.code)
		}
	}
}

// latestState reads p's frames until a game.state that differs from old.
func (tb *e2eTable) latestState(p *e2ePlayer, old string, deadline time.Time) tableState {
	tb.t.Helper()
	for _, f := range slices.Backward(p.c.all()) {
		if f.Type == "game.state" {
			if st := decodeState(tb.t, f); st.key() != old {
				return st
			}
			break
		}
	}
	for {
		f, err := p.c.next(deadline)
		if err != nil {
			tb.t.Fatalf("%s: waiting for the state after a lost answer: %v", p.c.name, err)
		}
		if f.Type == "game.state" {
			if st := decodeState(tb.t, f); st.key() != old {
				return st
			}
		}
	}
}

// checkStep checks that next follows prev by a move of seat with n cards
// (0: a pass): that seat's cards go down by n, no other seat's change; or
// the move emptied the seat's hand and the hand is over.
func (tb *e2eTable) checkStep(prev, next tableState, seat, n int) {
	tb.t.Helper()
	over := next.Status == "waiting" && prev.Seats[seat].Cards == n
	if next.HandNo != prev.HandNo || len(next.Seats) != len(prev.Seats) || (next.Status != "playing" && !over) {
		tb.t.Fatalf("move %d: state jumped from %s to %s", tb.moves, prev.key(), next.key())
	}
	for s := range prev.Seats {
		want := prev.Seats[s].Cards
		if s == seat {
			want -= n
		}
		if over {
			want = 0 // a hand's end shows no cards
		}
		if next.Seats[s].Cards != want || next.Seats[s].Player == nil || prev.Seats[s].Player == nil ||
			next.Seats[s].Player.PlayerID != prev.Seats[s].Player.PlayerID {
			tb.t.Fatalf("move %d by seat %d (%d cards): state went from %s to %s", tb.moves, seat, n, prev.key(), next.key())
		}
	}
}

// playHand moves until the hand is over, and checks that everyone saw
// its game.over.
func (tb *e2eTable) playHand() {
	tb.t.Helper()
	for tb.playing() {
		tb.move()
		if tb.moves > 1000 {
			tb.t.Fatal("the hand does not end")
		}
	}
	for _, p := range tb.players {
		if !slices.ContainsFunc(p.c.all(), func(f wsFrame) bool { return f.Type == "game.over" }) &&
			!tb.sawOver(p) {
			tb.t.Errorf("%s never got game.over", p.name)
		}
	}
}

// sawOver reports whether any socket of p got a game.over.
func (tb *e2eTable) sawOver(p *e2ePlayer) bool {
	for _, c := range tb.conns {
		if c.player == p.id && slices.ContainsFunc(c.all(), func(f wsFrame) bool { return f.Type == "game.over" }) {
			return true
		}
	}
	return false
}

// resynced waits until every player's socket has received, after since,
// a game.state and (during a hand) a game.hand unasked, and checks that
// they are the acknowledged ones. It returns when the first game.state
// after since reached a player whose socket survived.
func (tb *e2eTable) resynced(since time.Time) time.Duration {
	tb.t.Helper()
	first := time.Duration(-1)
	want := tb.acked.key()
	for i, p := range tb.players {
		var gotState, gotHand bool
		deadline := time.Now().Add(e2eWait)
		for !gotState || (!gotHand && tb.playing()) {
			f, err := p.c.next(deadline)
			if err != nil {
				tb.t.Fatalf("%s: waiting for game.state and game.hand after recovery: %v", p.c.name, err)
			}
			if !f.at.After(since) {
				continue
			}
			switch f.Type {
			case "game.state":
				st := decodeState(tb.t, f)
				if st.key() != want {
					tb.t.Fatalf("%s: the state after recovery is\n%s\nwant the last acknowledged one\n%s", p.c.name, st.key(), want)
				}
				if d := f.at.Sub(since); !gotState && tb.survived(p.c, since) && (first < 0 || d < first) {
					first = d
				}
				gotState = true
			case "game.hand":
				var h struct{ Cards []bigtwo.Card }
				_ = json.Unmarshal(f.Data, &h)
				if handKey(h.Cards) != handKey(tb.hand[i]) {
					whose := "nobody's"
					if j := slices.IndexFunc(tb.hand, func(c []bigtwo.Card) bool { return handKey(c) == handKey(h.Cards) }); j >= 0 {
						whose = tb.players[j].name + "'s (seat " + fmt.Sprint(tb.players[j].seat) + ")"
					}
					tb.t.Fatalf("%s (seat %d): the hand after recovery is %v, %s hand; want its own %v\nits last frames:\n%s",
						p.c.name, p.seat, h.Cards, whose, tb.hand[i], p.c.tail(12))
				}
				gotHand = true
			}
		}
	}
	return first
}

// survived reports whether c was opened before since (it was not a
// reconnection).
func (tb *e2eTable) survived(c *wsConn, since time.Time) bool {
	fs := c.all()
	return len(fs) > 0 && fs[0].at.Before(since)
}

// check goes through every frame every socket of the table received: each
// game.state of a dealt hand must be an acknowledged one, and no socket
// may see the table go back (to an older state or an older hand of its
// player) or get the same play twice. A stale host, a lost move or a
// duplicate delivery shows here.
func (tb *e2eTable) check() {
	tb.t.Helper()
	for _, c := range tb.conns {
		pi := slices.IndexFunc(tb.players, func(p *e2ePlayer) bool { return p.id == c.player })
		last, lastHand, handNo := -1, -1, 0
		played := map[string]bool{}
		for _, f := range c.all() {
			switch f.Type {
			case "game.state":
				st := decodeState(tb.t, f)
				handNo = st.HandNo
				if st.HandNo == 0 {
					continue // seats being taken
				}
				i, ok := tb.history[st.key()]
				switch {
				case !ok:
					tb.t.Errorf("%s got at %s a game.state no acknowledged move made: %s", c.name, f.at.Format(time.StampMicro), f.Data)
				case i < last:
					tb.t.Errorf("%s got at %s a game.state older (#%d) than one it had (#%d): %s", c.name, f.at.Format(time.StampMicro), i, last, f.Data)
				}
				last = max(last, i)
			case "game.hand":
				var h struct{ Cards []bigtwo.Card }
				_ = json.Unmarshal(f.Data, &h)
				k := handKey(h.Cards)
				if k == "[]" {
					continue
				}
				i, ok := tb.hands[pi][k]
				switch {
				case !ok:
					tb.t.Errorf("%s got at %s a game.hand that was never its hand: %s", c.name, f.at.Format(time.StampMicro), f.Data)
				case i < lastHand:
					tb.t.Errorf("%s got at %s an older game.hand: %s", c.name, f.at.Format(time.StampMicro), f.Data)
				}
				lastHand = max(lastHand, i)
			case "game.played":
				k := fmt.Sprint(handNo, string(f.Data))
				if played[k] {
					tb.t.Errorf("%s got the same game.played twice: %s", c.name, f.Data)
				}
				played[k] = true
			case "error":
				var e struct{ Code string }
				_ = json.Unmarshal(f.Data, &e)
				if !slices.Contains([]string{"unavailable", "not_your_turn", "no_game"}, e.Code) { // what a retried move may get
					tb.t.Errorf("%s got an error frame: %s", c.name, f.Data)
				}
			}
		}
	}
}
