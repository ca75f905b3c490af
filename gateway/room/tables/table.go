package tables

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/room"
	"github.com/bigtwo/gateway/gateway/room/bigtwo"
	"github.com/bigtwo/gateway/gateway/room/chat"
)

// table is one table's code. Its state is s; the rest is timers.
type table struct {
	opts  Options
	s     State
	turn  *room.Timer               // the current turn's deadline or bot move
	grace [bigtwo.Seats]*room.Timer // frees an away seat between hands
}

var (
	_ room.Handler  = (*table)(nil)
	_ room.Returner = (*table)(nil)
	_ room.Awayer   = (*table)(nil)
)

// Message handles the table's frames.
func (t *table) Message(r *room.Context, s room.Socket, m gateway.Message) error {
	switch m.Type {
	case "game.sit":
		return t.sit(r, s)
	case "game.watch":
		if _, err := r.Join(s); err != nil {
			return err
		}
		r.Reply(frame("game.state", t.s.public()))
		return nil
	case "game.stand":
		return t.stand(r, s)
	case "game.start":
		return t.start(r, s, m)
	case "game.play":
		return t.play(r, s, m)
	case "game.pass":
		return t.pass(r, s)
	}
	return gateway.Error{Code: "unknown_type", Message: errUnknownType + m.Type}
}

func (t *table) sit(r *room.Context, s room.Socket) error {
	seat := -1
	for i, st := range t.s.Seats {
		if st.Player != nil && st.Player.ID == s.Player.ID {
			seat = i // sitting again, or taking back a seat given up during this hand
			break
		}
	}
	if seat < 0 {
		if t.s.playing() {
			return errInProgress
		}
		for i, st := range t.s.Seats {
			if st.Player == nil && !st.Bot {
				seat = i
				break
			}
		}
		if seat < 0 {
			return errTableFull
		}
	}
	if _, err := r.Join(s); err != nil {
		return err
	}
	_ = r.Hold(s.Player.ID, 0) // a member now: cannot fail
	st := &t.s.Seats[seat]
	if st.Player == nil {
		p := s.Player
		st.Player = &p
		st.Score = 0
	}
	if st.Leaving {
		st.Leaving, st.Bot = false, false
	}
	st.AwaySince = t.awaySince(r, s.Player)
	t.stopGrace(seat)
	resume := t.s.playing() && t.s.Game.Turn == seat
	if resume {
		t.schedule(r) // the bot was playing the seat: the player is back
	}
	if !t.commit(r) {
		return room.ErrUnavailable
	}
	r.Reply(frame("game.seated", struct {
		Table string `json:"table"`
		Seat  int    `json:"seat"`
	}{t.s.Name, seat}))
	if t.s.playing() {
		t.sendHand(r, seat)
	}
	t.broadcastState(r)
	return nil
}

// awaySince is when p's last socket left the room, zero if any is in it.
func (t *table) awaySince(r *room.Context, p room.Player) (since time.Time) {
	if m, ok := r.MemberOf(p.ID); ok {
		return m.AwaySince
	}
	return since
}

func (t *table) stand(r *room.Context, s room.Socket) error {
	seat := t.s.seatOf(s.Player)
	if seat < 0 {
		return errNotSeated
	}
	t.giveUp(r, seat)
	r.Remove(s.Player.ID)
	if !t.commit(r) {
		return room.ErrUnavailable
	}
	// The stander is no longer at the table: their copy goes to the
	// requesting socket alone.
	r.Reply(frame("game.state", t.s.public()))
	t.broadcastState(r)
	return nil
}

// giveUp frees seat, or between now and the hand's end leaves it to the bot.
func (t *table) giveUp(r *room.Context, seat int) {
	st := &t.s.Seats[seat]
	t.stopGrace(seat)
	if !t.s.playing() {
		*st = Seat{}
		return
	}
	st.Leaving, st.Bot, st.AwaySince = true, true, time.Time{}
	if t.s.Game.Turn == seat {
		t.schedule(r) // the bot moves at once
	}
}

func (t *table) start(r *room.Context, s room.Socket, m gateway.Message) error {
	if t.s.seatOf(s.Player) < 0 {
		return errNotSeated
	}
	if t.s.playing() {
		return errInProgress
	}
	d, _ := chat.Fields(m.Data) // route checked it
	var bots bool
	if v, ok := d["bots"]; ok && json.Unmarshal(v, &bots) != nil {
		return gateway.Error{Code: "bad_request", Message: `"bots" must be true or false`}
	}
	seated := 0
	for _, st := range t.s.Seats {
		if st.Player != nil {
			seated++
		}
	}
	if seated < bigtwo.Seats && !bots {
		return errNotEnough
	}
	hands, err := bigtwo.Deal(t.opts.Rand)
	if err != nil {
		return fmt.Errorf("deal: %w", err)
	}
	for i := range t.s.Seats {
		if t.s.Seats[i].Player == nil {
			t.s.Seats[i] = Seat{Bot: true}
		}
		t.stopGrace(i)
	}
	t.s.Game = bigtwo.NewGame(hands, t.s.HandNo == 0, t.s.Leader)
	t.s.HandNo++
	t.schedule(r)
	if !t.commit(r) {
		return room.ErrUnavailable
	}
	for i := range t.s.Seats {
		t.sendHand(r, i)
	}
	t.broadcastState(r)
	return nil
}

// seatFor returns the seat s's player plays now, or an error frame.
func (t *table) seatFor(s room.Socket) (int, error) {
	if !t.s.playing() {
		return -1, errNoGame
	}
	seat := t.s.seatOf(s.Player)
	if seat < 0 {
		return -1, errNotSeated
	}
	return seat, nil
}

func (t *table) play(r *room.Context, s room.Socket, m gateway.Message) error {
	seat, err := t.seatFor(s)
	if err != nil {
		return err
	}
	if t.s.Game.Turn != seat {
		return ruleError(bigtwo.ErrNotYourTurn)
	}
	d, _ := chat.Fields(m.Data)
	var codes []string
	if json.Unmarshal(d["cards"], &codes) != nil || codes == nil {
		return errBadCards
	}
	cards, err := bigtwo.ParseCards(codes)
	if err != nil {
		return ruleError(err)
	}
	return t.move(r, seat, cards, false)
}

func (t *table) pass(r *room.Context, s room.Socket) error {
	seat, err := t.seatFor(s)
	if err != nil {
		return err
	}
	return t.move(r, seat, nil, true)
}

// move plays cards (or a pass) for seat, commits the state, then sends
// what changed and goes on to the next turn or the hand's end.
func (t *table) move(r *room.Context, seat int, cards []bigtwo.Card, pass bool) error {
	g := t.s.Game
	var sent gateway.Message
	if pass {
		if err := g.Pass(seat); err != nil {
			return ruleError(err)
		}
		sent = frame("game.passed", struct {
			Table string `json:"table"`
			Seat  int    `json:"seat"`
		}{t.s.Name, seat})
	} else {
		p, err := g.Play(seat, cards)
		if err != nil {
			return ruleError(err)
		}
		sent = frame("game.played", struct {
			Table string        `json:"table"`
			Seat  int           `json:"seat"`
			Cards []bigtwo.Card `json:"cards"`
			Combo bigtwo.Combo  `json:"combo"`
		}{t.s.Name, seat, p.Cards, p.Combo})
	}
	var hand gateway.Message
	if !pass {
		hand = t.handFrame(seat)
	}
	var overFrame gateway.Message
	if g.Over() {
		overFrame = t.finish(r)
	} else {
		t.schedule(r)
	}
	if !t.commit(r) {
		return room.ErrUnavailable
	}
	r.Broadcast(sent)
	if st := t.s.Seats[seat]; !pass && st.Player != nil && !st.Leaving {
		r.Send(st.Player.ID, hand)
	}
	if overFrame.Type != "" {
		r.Broadcast(overFrame)
	}
	t.broadcastState(r)
	return nil
}

// finish ends the hand: scores, the seats of bots and leavers emptied,
// away seats past the grace freed. It returns the game.over frame.
func (t *table) finish(r *room.Context) gateway.Message {
	g := t.s.Game
	penalties, deltas := bigtwo.Score(g.Hands, g.Winner)
	var scores [bigtwo.Seats]int
	hands := make([][]bigtwo.Card, bigtwo.Seats)
	for i := range t.s.Seats {
		t.s.Seats[i].Score += deltas[i]
		scores[i] = t.s.Seats[i].Score
		hands[i] = append([]bigtwo.Card{}, g.Hands[i]...)
	}
	over := frame("game.over", struct {
		Table     string          `json:"table"`
		Winner    int             `json:"winner"`
		Penalties [4]int          `json:"penalties"`
		Scores    [4]int          `json:"scores"`
		Hands     [][]bigtwo.Card `json:"hands"`
	}{t.s.Name, g.Winner, penalties, scores, hands})
	t.s.Leader = g.Winner
	t.s.Game = nil
	t.s.Deadline = time.Time{}
	t.turn.Stop()
	for i := range t.s.Seats {
		st := &t.s.Seats[i]
		switch {
		case st.Player == nil || st.Leaving:
			*st = Seat{}
		case !st.AwaySince.IsZero():
			t.armGrace(r, i)
		}
	}
	return over
}

// commit saves the table's state before anyone is told of a change; false
// means the table is no longer hosted here.
func (t *table) commit(r *room.Context) bool {
	b, err := t.s.Encode()
	if err != nil {
		return false
	}
	return r.Save(b) == nil
}

// schedule arms the current turn: the bot moves at once for a bot seat,
// at the deadline for anyone else.
func (t *table) schedule(r *room.Context) {
	t.turn.Stop()
	g := t.s.Game
	seat := g.Turn
	d := t.opts.TurnTimeout
	if t.s.Seats[seat].Bot {
		d = 0
		if !t.humanSeated() {
			// Only bots are left (the players stood up or logged out):
			// they play the hand out at a pace watchers can take, not in
			// a burst that would fill their send queues.
			d = botPace
		}
	}
	t.s.Deadline = r.Now().Add(d)
	t.armTurn(r, d)
}

// botPace is the time between two bot moves at a table with no player.
const botPace = 250 * time.Millisecond

// humanSeated reports whether a player (not leaving) holds a seat.
func (t *table) humanSeated() bool {
	for _, st := range t.s.Seats {
		if st.Player != nil && !st.Leaving {
			return true
		}
	}
	return false
}

// armTurn arms the current turn's timer to fire after d.
func (t *table) armTurn(r *room.Context, d time.Duration) {
	t.turn.Stop()
	seat := t.s.Game.Turn
	hand := t.s.HandNo
	t.turn = r.After(d, func(r *room.Context) {
		if t.s.Game == nil || t.s.HandNo != hand || t.s.Game.Turn != seat {
			return
		}
		cards := t.s.Game.BotMove(seat)
		_ = t.move(r, seat, cards, cards == nil) // the bot's move is legal
	})
}

// sendHand sends seat's cards to its player (every socket of theirs).
func (t *table) sendHand(r *room.Context, seat int) {
	st := t.s.Seats[seat]
	if st.Player == nil || st.Leaving || t.s.Game == nil {
		return
	}
	r.Send(st.Player.ID, t.handFrame(seat))
}

func (t *table) handFrame(seat int) gateway.Message {
	cards := t.s.Game.Hands[seat]
	if cards == nil {
		cards = []bigtwo.Card{}
	}
	return frame("game.hand", struct {
		Table string        `json:"table"`
		Cards []bigtwo.Card `json:"cards"`
	}{t.s.Name, cards})
}

func (t *table) broadcastState(r *room.Context) {
	r.Broadcast(frame("game.state", t.s.public()))
	seated := 0
	for _, st := range t.s.Seats {
		if st.Player != nil && !st.Leaving {
			seated++
		}
	}
	status := "waiting"
	if t.s.playing() {
		status = "playing"
	}
	r.SetSummary(summary{Seated: seated, Status: status})
}

// Return resyncs a seated player's new socket: game.state and their hand.
func (t *table) Return(r *room.Context, s room.Socket) {
	seat := t.s.seatOf(s.Player)
	if seat < 0 {
		return
	}
	st := &t.s.Seats[seat]
	if !st.AwaySince.IsZero() {
		st.AwaySince = time.Time{}
		t.stopGrace(seat)
		if !t.commit(r) {
			return
		}
		t.broadcastState(r) // the player is back: everyone sees it, the new socket included
	} else {
		r.SendSocket(s, frame("game.state", t.s.public()))
	}
	if t.s.playing() {
		r.SendSocket(s, t.handFrame(seat))
	}
}

// Away marks a seated player's seat away; between hands the seat is freed
// after the grace.
func (t *table) Away(r *room.Context, p room.Player) {
	seat := t.s.seatOf(p)
	if seat < 0 {
		return
	}
	t.s.Seats[seat].AwaySince = r.Now()
	if !t.s.playing() {
		t.armGrace(r, seat)
	}
	if !t.commit(r) {
		return
	}
	t.broadcastState(r)
}

// Leave gives up the seat of a player whose session was revoked: the bot
// plays it out until the hand ends.
func (t *table) Leave(r *room.Context, p room.Player, why room.Reason) {
	seat := t.s.seatOf(p)
	if seat < 0 {
		return
	}
	t.giveUp(r, seat)
	if !t.commit(r) {
		return
	}
	t.broadcastState(r)
}

// armGrace frees an away seat once it has been away for SeatGrace, if no
// hand is being played then (else the hand's end looks again).
func (t *table) armGrace(r *room.Context, seat int) {
	t.stopGrace(seat)
	st := t.s.Seats[seat]
	left := t.opts.SeatGrace - r.Now().Sub(st.AwaySince)
	id := st.Player.ID
	free := func(r *room.Context) {
		st := &t.s.Seats[seat]
		if t.s.playing() || st.Player == nil || st.Player.ID != id || st.AwaySince.IsZero() {
			return
		}
		*st = Seat{}
		r.Remove(id)
		if !t.commit(r) {
			return
		}
		t.broadcastState(r)
	}
	if left <= 0 {
		free(r)
		return
	}
	t.grace[seat] = r.After(left, free)
}

func (t *table) stopGrace(seat int) {
	t.grace[seat].Stop()
	t.grace[seat] = nil
}

// restore makes a table from a saved State (Kind's Restore).
func restore(opts Options, name string, b []byte) (room.Handler, error) {
	s, err := DecodeState(b)
	if err != nil {
		return nil, err
	}
	if s.Name != name {
		return nil, fmt.Errorf("restore table %s: state of table %s", name, s.Name)
	}
	return &table{opts: opts, s: s}, nil
}

var _ room.Resumer = (*table)(nil)

// Resume runs first in a table restored at another gateway: its players
// are held again, the turn timer runs on to the saved deadline, and
// everyone at the table gets game.state and each player their hand
// (players who never dropped may have missed frames).
func (t *table) Resume(r *room.Context) {
	for i, st := range t.s.Seats {
		if st.Player == nil || st.Leaving {
			continue
		}
		if err := r.HoldPlayer(*st.Player, 0); err != nil {
			continue // the player is at too many tables here: the seat plays on as it is
		}
		if m, ok := r.MemberOf(st.Player.ID); ok && m.Sockets > 0 {
			t.s.Seats[i].AwaySince = time.Time{}
		} else if t.s.Seats[i].AwaySince.IsZero() {
			t.s.Seats[i].AwaySince = r.Now()
		}
		if !t.s.playing() && !t.s.Seats[i].AwaySince.IsZero() {
			t.armGrace(r, i)
		}
	}
	if t.s.playing() {
		t.armTurn(r, max(0, t.s.Deadline.Sub(r.Now())))
	}
	for i := range t.s.Seats {
		t.sendHand(r, i)
	}
	t.broadcastState(r)
}
