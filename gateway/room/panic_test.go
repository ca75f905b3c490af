package room_test

import (
	"testing"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/room"
	"github.com/bigtwo/gateway/gateway/room/roomtest"
)

type panicky struct{}

func (panicky) Message(r *room.Context, s room.Socket, m gateway.Message) error {
	if _, err := r.Join(s); err != nil {
		return err
	}
	if m.Type == "boom.now" {
		panic("room code bug")
	}
	r.Reply(gateway.Message{Type: "boom.ok"})
	return nil
}
func (panicky) Leave(*room.Context, room.Player, room.Reason) {}

// A panic in room code ends that room only: the frame is answered
// internal_error, the socket stays open, the room starts afresh.
func TestPanicEndsTheRoomOnly(t *testing.T) {
	kind := &room.Kind{Name: "boom", Prefix: "boom.",
		Route: func(m gateway.Message) (room.Target, error) { return room.Target{Room: "r", Create: true}, nil },
		New:   func(string) room.Handler { return panicky{} }}
	e := roomtest.New(t, room.Options{}, gateway.Options{}, kind)
	c := e.Player("p").Tab()
	c.Send(`{"type":"boom.join","id":1}`)
	c.Expect("boom.ok", "1", "null")
	c.Send(`{"type":"boom.now","id":2}`)
	c.ExpectError("internal_error", "2")
	c.Send(`{"type":"boom.join","id":3}`)
	c.Expect("boom.ok", "3", "null")
	if rooms := e.Runtime.Rooms(); len(rooms) != 1 {
		t.Fatalf("rooms = %v, want the one made afresh", rooms)
	}
}
