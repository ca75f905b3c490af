package tables_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/room"
	"github.com/bigtwo/gateway/gateway/room/bigtwo"
	"github.com/bigtwo/gateway/gateway/room/chat"
	"github.com/bigtwo/gateway/gateway/room/roomtest"
	"github.com/bigtwo/gateway/gateway/room/tables"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newEnv(t *testing.T, opts tables.Options) *roomtest.Env {
	if opts.TurnTimeout == 0 {
		opts.TurnTimeout = time.Hour // tests that need the deadline set it
	}
	return roomtest.New(t, room.Options{}, gateway.Options{}, chat.Kind(), tables.Kind(opts))
}

// state is game.state as a client reads it.
type state struct {
	Table  string `json:"table"`
	Status string `json:"status"`
	HandNo int    `json:"hand_no"`
	Seats  []struct {
		Seat   int `json:"seat"`
		Player *struct {
			PlayerID string `json:"player_id"`
			Username string `json:"username"`
		} `json:"player"`
		Bot   bool `json:"bot"`
		Away  bool `json:"away"`
		Cards int  `json:"cards"`
		Score int  `json:"score"`
	} `json:"seats"`
	Turn    *int `json:"turn"`
	Leader  *int `json:"leader"`
	Current *struct {
		Seat  int           `json:"seat"`
		Cards []bigtwo.Card `json:"cards"`
		Combo string        `json:"combo"`
	} `json:"current"`
	Passes     int        `json:"passes"`
	FirstTrick bool       `json:"first_trick"`
	Deadline   *time.Time `json:"turn_deadline"`
}

type hand struct {
	Table string        `json:"table"`
	Cards []bigtwo.Card `json:"cards"`
}

type over struct {
	Winner    int             `json:"winner"`
	Penalties []int           `json:"penalties"`
	Scores    []int           `json:"scores"`
	Hands     [][]bigtwo.Card `json:"hands"`
}

// seated is a player at a table, reading its frames.
type seated struct {
	t     *testing.T
	c     *roomtest.Client
	seat  int
	state state
	hand  []bigtwo.Card
	over  *over
}

// read reads one frame and keeps what it says.
func (p *seated) read() roomtest.Frame {
	p.t.Helper()
	f := p.c.Read()
	if testing.Verbose() {
		p.t.Logf("seat %d <- %s %s %s", p.seat, f.Type, f.ID, f.Data)
	}
	switch f.Type {
	case "game.state":
		p.state = state{}
		f.Decode(p.t, &p.state)
	case "game.hand":
		var h hand
		f.Decode(p.t, &h)
		p.hand = h.Cards
	case "game.over":
		var o over
		f.Decode(p.t, &o)
		p.over = &o
	case "error":
		p.t.Fatalf("error frame: %s", f.Data)
	}
	return f
}

// readUntil reads frames until one of type typ.
func (p *seated) readUntil(typ string) roomtest.Frame {
	p.t.Helper()
	for {
		if f := p.read(); f.Type == typ {
			return f
		}
	}
}

// botMove is the contract's bot move for p, from what p can see.
func (p *seated) botMove() []bigtwo.Card {
	g := bigtwo.Game{Turn: p.seat, Winner: -1, FirstTrick: p.state.FirstTrick}
	g.Hands[p.seat] = p.hand
	if cur := p.state.Current; cur != nil {
		var combo bigtwo.Combo
		_ = combo.UnmarshalText([]byte(cur.Combo))
		g.Current = &bigtwo.Trick{Seat: cur.Seat, Cards: cur.Cards, Combo: combo}
	}
	return g.BotMove(p.seat)
}

// playOut plays p's turns with the bot move until the hand is over,
// acting on the latest game.state: everyone else must be bots.
func (p *seated) playOut(table string) {
	p.t.Helper()
	for p.over == nil {
		if p.state.Turn != nil && *p.state.Turn == p.seat && p.state.Status == "playing" {
			if move := p.botMove(); move == nil {
				p.c.Send(`{"type":"game.pass","data":{"table":"` + table + `"}}`)
			} else {
				p.c.Send(`{"type":"game.play","data":{"table":"` + table + `","cards":` + codes(move) + `}}`)
			}
			p.readUntil("game.state") // the state after the move
			continue
		}
		p.read()
	}
	for p.state.Status != "waiting" {
		p.readUntil("game.state")
	}
}

func codes(cards []bigtwo.Card) string {
	b, _ := json.Marshal(cards)
	return string(b)
}

func sit(t *testing.T, c *roomtest.Client, table string) *seated {
	t.Helper()
	c.Send(`{"type":"game.sit","id":"sit","data":{"table":"` + table + `"}}`)
	p := &seated{t: t, c: c}
	f := p.readUntil("game.seated")
	var d struct{ Seat int }
	f.Decode(t, &d)
	p.seat = d.Seat
	if string(f.ID) != `"sit"` {
		t.Fatalf("game.seated id = %s, want \"sit\"", f.ID)
	}
	p.readUntil("game.state")
	return p
}

// Four players play a full hand to game.over, each playing the bot move
// or passing, reading only their own frames; a watcher sees every public
// frame and never a card of a hand.
func TestFullHand(t *testing.T) {
	e := newEnv(t, tables.Options{})
	var ps []*seated
	for i := range 4 {
		ps = append(ps, sit(t, e.Player(fmt.Sprintf("p%d", i)).Tab(), "t1"))
		for _, q := range ps[:i] {
			q.readUntil("game.state")
		}
	}
	watcher := &seated{t: t, c: e.Player("watcher").Tab(), seat: -1}
	watcher.c.Send(`{"type":"game.watch","id":1,"data":{"table":"t1"}}`)
	watcher.readUntil("game.state")

	ps[2].c.Send(`{"type":"game.start","id":"go","data":{"table":"t1"}}`)
	for _, p := range ps {
		p.readUntil("game.hand")
		p.readUntil("game.state")
		if len(p.hand) != 13 {
			t.Fatalf("seat %d hand = %d cards, want 13", p.seat, len(p.hand))
		}
	}
	watcher.readUntil("game.state")
	if !ps[0].state.FirstTrick || ps[0].state.Status != "playing" || ps[0].state.HandNo != 1 {
		t.Fatalf("state after deal = %+v, want playing, first trick, hand 1", ps[0].state)
	}
	// The holder of 3D leads.
	lead := *ps[0].state.Turn
	if ps[lead].hand[0] != 0 {
		t.Fatalf("seat %d leads without 3D: %v", lead, ps[lead].hand)
	}

	moves := 0
	for ps[0].over == nil {
		turn := *ps[0].state.Turn
		p := ps[turn]
		move := p.botMove()
		id := fmt.Sprintf(`"m%d"`, moves)
		if move == nil {
			p.c.Send(`{"type":"game.pass","id":` + id + `,"data":{"table":"t1"}}`)
		} else {
			p.c.Send(`{"type":"game.play","id":` + id + `,"data":{"table":"t1","cards":` + codes(move) + `}}`)
		}
		want := "game.played"
		if move == nil {
			want = "game.passed"
		}
		if f := p.readUntil(want); string(f.ID) != id {
			t.Fatalf("%s id = %s, want %s", want, f.ID, id)
		}
		for _, q := range append(ps, watcher) {
			if q.over == nil {
				q.readUntil("game.state")
			}
		}
		moves++
		if moves > 400 {
			t.Fatal("no winner after 400 moves")
		}
	}
	// Everyone saw the same result; scores sum to zero; the loser's hands are public now.
	o := ps[0].over
	total := 0
	for i, s := range o.Scores {
		total += s
		if o.Penalties[i] != bigtwo.Penalty(len(o.Hands[i])) && i != o.Winner {
			t.Errorf("seat %d penalty = %d for %d cards", i, o.Penalties[i], len(o.Hands[i]))
		}
	}
	if total != 0 || len(o.Hands[o.Winner]) != 0 {
		t.Fatalf("game.over = %+v, want scores summing to 0 and an empty winner hand", o)
	}
	for _, p := range append(ps, watcher) {
		if p.over == nil || p.over.Winner != o.Winner {
			t.Fatalf("seat %d game.over = %+v, want winner %d", p.seat, p.over, o.Winner)
		}
		if p.state.Status != "waiting" {
			p.readUntil("game.state")
		}
		if p.state.Status != "waiting" || p.state.Turn != nil || p.state.Current != nil || p.state.Leader != nil || p.state.Deadline != nil {
			t.Fatalf("state after game.over = %+v, want waiting with nulls", p.state)
		}
	}
	if watcher.hand != nil {
		t.Fatalf("the watcher got a game.hand: %v", watcher.hand)
	}

	// The next hand: the winner leads anything.
	ps[0].c.Send(`{"type":"game.start","data":{"table":"t1"}}`)
	ps[0].readUntil("game.hand")
	ps[0].readUntil("game.state")
	if st := ps[0].state; *st.Turn != o.Winner || st.FirstTrick || st.HandNo != 2 {
		t.Fatalf("second hand state = turn %d first %v hand %d, want turn %d, not first, hand 2", *st.Turn, st.FirstTrick, st.HandNo, o.Winner)
	}
}

// One player and three bots play through to the end with no one else
// moving: the bots move at once on their turns, the player's turns time
// out... here the player plays the bot move each time.
func TestBotsPlayThrough(t *testing.T) {
	e := newEnv(t, tables.Options{})
	p := sit(t, e.Player("solo").Tab(), "solo")
	p.c.Send(`{"type":"game.start","id":1,"data":{"table":"solo","bots":true}}`)
	p.readUntil("game.hand")
	p.playOut("solo")
	for i, s := range p.state.Seats {
		if i != p.seat && (s.Bot || s.Player != nil) {
			t.Fatalf("seat %d after the hand = %+v, want empty (bots leave with the hand)", i, s)
		}
	}
}

func TestTwoTabsAndReturn(t *testing.T) {
	e := newEnv(t, tables.Options{})
	pl := e.Player("two-tabs")
	a := sit(t, pl.Tab(), "t2")
	a.c.Send(`{"type":"game.start","data":{"table":"t2","bots":true}}`)
	a.readUntil("game.hand")

	// A second tab gets game.state and the hand right after welcome, unasked.
	b := &seated{t: t, c: pl.Tab(), seat: a.seat}
	b.readUntil("game.state")
	b.readUntil("game.hand")
	if len(b.hand) == 0 {
		t.Fatal("second tab got an empty hand")
	}

	// Both tabs get the new hand after a play from either.
	for a.state.Turn == nil || *a.state.Turn != a.seat {
		a.readUntil("game.state")
	}
	for b.state.Turn == nil || *b.state.Turn != b.seat {
		b.readUntil("game.state")
	}
	if move := a.botMove(); move != nil {
		a.c.Send(`{"type":"game.play","data":{"table":"t2","cards":` + codes(move) + `}}`)
		a.readUntil("game.hand")
		b.readUntil("game.hand")
		if codes(a.hand) != codes(b.hand) {
			t.Fatalf("tabs disagree: %v vs %v", a.hand, b.hand)
		}
	}

	// Both tabs drop: away. A new socket comes back to the seat and hand.
	a.c.Drop()
	b.c.Drop()
	watcher := &seated{t: t, c: e.Player("w").Tab()}
	watcher.c.Send(`{"type":"game.watch","data":{"table":"t2"}}`)
	for {
		watcher.readUntil("game.state")
		if watcher.state.Seats[a.seat].Away {
			break
		}
	}
	c := &seated{t: t, c: pl.Tab(), seat: a.seat}
	c.readUntil("game.state")
	c.readUntil("game.hand")
	if c.state.Seats[a.seat].Away || len(c.hand) == 0 {
		t.Fatalf("after return: away %v, hand %v; want back with a hand", c.state.Seats[a.seat].Away, c.hand)
	}
	for watcher.state.Seats[a.seat].Away {
		watcher.readUntil("game.state")
	}
}

// Logout hands the seat to a bot at once: the seat shows the player with
// bot true, and it plays on; after the hand the seat is empty.
func TestRevokedSeatGoesToBot(t *testing.T) {
	e := newEnv(t, tables.Options{})
	owner, victim := e.Player("owner"), e.Player("victim")
	o := sit(t, owner.Tab(), "t3")
	v := sit(t, victim.Tab(), "t3")
	o.readUntil("game.state")
	o.c.Send(`{"type":"game.start","data":{"table":"t3","bots":true}}`)
	o.readUntil("game.hand")
	victim.Revoke(victim.Session)
	if code := v.c.WaitClose(); code != gateway.StatusRevoked {
		t.Fatalf("close = %d, want 4003", code)
	}
	for {
		o.readUntil("game.state")
		s := o.state.Seats[v.seat]
		if s.Bot {
			if s.Player == nil || s.Player.Username != "victim" {
				t.Fatalf("revoked seat = %+v, want the player shown with bot true", s)
			}
			break
		}
	}
	// The owner plays to the end; the victim's seat is played by the bot.
	o.playOut("t3")
	if s := o.state.Seats[v.seat]; s.Player != nil || s.Bot {
		t.Fatalf("seat after the hand = %+v, want empty", s)
	}
}

// Revoking a session with no socket open still frees the seat.
func TestRevokedWithNoSocket(t *testing.T) {
	e := newEnv(t, tables.Options{})
	owner, gone := e.Player("owner"), e.Player("gone")
	o := sit(t, owner.Tab(), "t4")
	g := sit(t, gone.Tab(), "t4")
	o.readUntil("game.state")
	g.c.Close()
	for !o.state.Seats[g.seat].Away {
		o.readUntil("game.state")
	}
	gone.Revoke(gone.Session)
	for o.state.Seats[g.seat].Player != nil {
		o.readUntil("game.state")
	}
}

func TestTableErrors(t *testing.T) {
	e := newEnv(t, tables.Options{})
	ps := make([]*seated, 4)
	for i := range ps {
		ps[i] = sit(t, e.Player(fmt.Sprintf("p%d", i)).Tab(), "t5")
	}
	outsider := e.Player("outsider").Tab()
	expect := func(c *roomtest.Client, frame, code string) {
		t.Helper()
		c.Send(frame)
		for {
			f := c.Read()
			if f.Type == "error" {
				var d gateway.Error
				f.Decode(t, &d)
				if d.Code != code || string(f.ID) != "7" {
					t.Fatalf("%s: error %s id %s, want %s id 7", frame, d.Code, f.ID, code)
				}
				return
			}
			if f.Type != "game.state" {
				t.Fatalf("%s: got %s %s, want error %s", frame, f.Type, f.Data, code)
			}
		}
	}
	o := outsider
	expect(o, `{"type":"game.sit","id":7,"data":{"table":"bad name"}}`, "bad_table")
	expect(o, `{"type":"game.sit","id":7,"data":{"table":"`+strings.Repeat("x", 65)+`"}}`, "bad_table")
	expect(o, `{"type":"game.sit","id":7,"data":{}}`, "bad_table")
	expect(o, `{"type":"game.sit","id":7}`, "bad_request")
	expect(o, `{"type":"game.sit","id":7,"data":{"table":"t5"}}`, "table_full")
	expect(o, `{"type":"game.play","id":7,"data":{"table":"nowhere","cards":["3D"]}}`, "no_game")
	expect(o, `{"type":"game.pass","id":7,"data":{"table":"t5"}}`, "no_game")
	expect(o, `{"type":"game.start","id":7,"data":{"table":"t5"}}`, "not_seated")
	expect(o, `{"type":"game.stand","id":7,"data":{"table":"t5"}}`, "not_seated")
	expect(o, `{"type":"game.fold","id":7,"data":{"table":"t5"}}`, "unknown_type")

	// Three seated of four, no bots: not enough players.
	ps[3].c.Send(`{"type":"game.stand","id":8,"data":{"table":"t5"}}`)
	if f := ps[3].readUntil("game.state"); string(f.ID) != "8" {
		t.Fatalf("game.stand answer id = %s, want 8", f.ID)
	}
	expect(ps[0].c, `{"type":"game.start","id":7,"data":{"table":"t5"}}`, "not_enough_players")
	expect(ps[0].c, `{"type":"game.start","id":7,"data":{"table":"t5","bots":"yes"}}`, "bad_request")
	ps[3] = sit(t, e.Player("p3b").Tab(), "t5")
	if ps[3].seat != 3 {
		t.Fatalf("new player got seat %d, want the freed seat 3", ps[3].seat)
	}
	ps[1].c.Send(`{"type":"game.start","id":9,"data":{"table":"t5"}}`)
	for _, p := range ps {
		p.readUntil("game.hand")
		p.readUntil("game.state")
	}
	expect(outsider, `{"type":"game.sit","id":7,"data":{"table":"t5"}}`, "game_in_progress")
	expect(outsider, `{"type":"game.play","id":7,"data":{"table":"t5","cards":["3D"]}}`, "not_seated")
	expect(ps[0].c, `{"type":"game.start","id":7,"data":{"table":"t5"}}`, "game_in_progress")

	lead := ps[*ps[0].state.Turn]
	other := ps[(lead.seat+1)%4]
	expect(other.c, `{"type":"game.play","id":7,"data":{"table":"t5","cards":["3D"]}}`, "not_your_turn")
	expect(other.c, `{"type":"game.pass","id":7,"data":{"table":"t5"}}`, "not_your_turn")
	expect(other.c, `{"type":"game.play","id":7,"data":{"table":"t5","cards":["ZZ"]}}`, "not_your_turn") // not_your_turn comes first
	expect(lead.c, `{"type":"game.play","id":7,"data":{"table":"t5","cards":"3D"}}`, "invalid_cards")
	expect(lead.c, `{"type":"game.play","id":7,"data":{"table":"t5","cards":[3]}}`, "invalid_cards")
	expect(lead.c, `{"type":"game.play","id":7,"data":{"table":"t5"}}`, "invalid_cards")
	expect(lead.c, `{"type":"game.play","id":7,"data":{"table":"t5","cards":["XX"]}}`, "invalid_cards")
	expect(lead.c, `{"type":"game.play","id":7,"data":{"table":"t5","cards":["3D","3D"]}}`, "invalid_cards")
	expect(lead.c, `{"type":"game.play","id":7,"data":{"table":"t5","cards":[]}}`, "invalid_combination")
	notHeld := other.hand[0]
	expect(lead.c, `{"type":"game.play","id":7,"data":{"table":"t5","cards":["`+notHeld.String()+`"]}}`, "cards_not_in_hand")
	h := lead.hand
	if h[0].Rank() != h[12].Rank() {
		expect(lead.c, `{"type":"game.play","id":7,"data":{"table":"t5","cards":`+codes([]bigtwo.Card{h[0], h[12]})+`}}`, "invalid_combination")
	}
	expect(lead.c, `{"type":"game.play","id":7,"data":{"table":"t5","cards":`+codes(h[:4])+`}}`, "invalid_combination")
	expect(lead.c, `{"type":"game.play","id":7,"data":{"table":"t5","cards":["`+h[12].String()+`"]}}`, "must_play_3d")
	expect(lead.c, `{"type":"game.pass","id":7,"data":{"table":"t5"}}`, "cannot_pass_on_lead")

	// 3D, then the next seat plays its highest card, then the one after
	// tries a lower single (does_not_beat) and a pair on a single.
	lead.c.Send(`{"type":"game.play","id":10,"data":{"table":"t5","cards":["3D"]}}`)
	for _, p := range ps {
		p.readUntil("game.state")
	}
	high := other.hand[len(other.hand)-1]
	other.c.Send(`{"type":"game.play","id":11,"data":{"table":"t5","cards":["` + high.String() + `"]}}`)
	for _, p := range ps {
		p.readUntil("game.state")
	}
	third := ps[(other.seat+1)%4]
	if third.hand[0] < high {
		expect(third.c, `{"type":"game.play","id":7,"data":{"table":"t5","cards":["`+third.hand[0].String()+`"]}}`, "does_not_beat")
	}
	for i := 0; i+1 < len(third.hand); i++ {
		if third.hand[i].Rank() == third.hand[i+1].Rank() {
			expect(third.c, `{"type":"game.play","id":7,"data":{"table":"t5","cards":`+codes(third.hand[i:i+2])+`}}`, "does_not_beat")
			break
		}
	}
}
