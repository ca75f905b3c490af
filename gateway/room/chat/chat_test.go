package chat_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/room"
	"github.com/bigtwo/gateway/gateway/room/chat"
	"github.com/bigtwo/gateway/gateway/room/roomtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newEnv(t *testing.T, opts room.Options) *roomtest.Env {
	return roomtest.New(t, opts, gateway.Options{}, chat.Kind())
}

func TestChat(t *testing.T) {
	e := newEnv(t, room.Options{})
	ap, bp := e.Player("brave-otter"), e.Player("calm-heron")
	alice, bob := ap.Tab(), bp.Tab()

	alice.Send(`{"type":"room.join","id":1,"data":{"room":"t1"}}`)
	alice.Expect("room.joined", "1", `{"room":"t1","members":[`+ap.JSON()+`]}`)
	bob.Send(`{"type":"room.join","id":2,"data":{"room":"t1"}}`)
	bob.Expect("room.joined", "2", `{"room":"t1","members":[`+ap.JSON()+`,`+bp.JSON()+`]}`)
	alice.Expect("room.member_joined", "", `{"room":"t1","member":`+bp.JSON()+`}`)

	// Joining twice is harmless: the members again, no event for others.
	bob.Send(`{"type":"room.join","id":3,"data":{"room":"t1"}}`)
	bob.Expect("room.joined", "3", `{"room":"t1","members":[`+ap.JSON()+`,`+bp.JSON()+`]}`)
	alice.ExpectNothing()

	alice.Send(`{"type":"room.say","id":"s","data":{"room":"t1","text":"hello"}}`)
	msg := `{"room":"t1","from":` + ap.JSON() + `,"text":"hello"}`
	alice.Expect("room.message", `"s"`, msg)
	bob.Expect("room.message", "", msg)

	// room.relay reaches the others with the server's from, never the client's.
	bob.Send(`{"type":"room.relay","id":4,"data":{"room":"t1","data":{"emote":"wave"},"from":{"player_id":"spoofed"}}}`)
	alice.Expect("room.relay", "", `{"room":"t1","from":`+bp.JSON()+`,"data":{"emote":"wave"}}`)
	bob.ExpectNothing()

	bob.Send(`{"type":"room.list","id":5}`)
	bob.Expect("room.list", "5", `{"rooms":[{"room":"t1","members":2}],"total":1}`)

	bob.Send(`{"type":"room.leave","id":6,"data":{"room":"t1"}}`)
	bob.Expect("room.left", "6", `{"room":"t1"}`)
	alice.Expect("room.member_left", "", `{"room":"t1","member":`+bp.JSON()+`}`)

	// A disconnect leaves every room; empty rooms vanish.
	bob.Send(`{"type":"room.join","data":{"room":"t1"}}`)
	bob.Read()
	alice.Read() // member_joined
	bob.Send(`{"type":"room.join","data":{"room":"t2"}}`)
	bob.Read()
	bob.Close()
	alice.Expect("room.member_left", "", `{"room":"t1","member":`+bp.JSON()+`}`)
	alice.Send(`{"type":"room.list","id":7}`)
	alice.Expect("room.list", "7", `{"rooms":[{"room":"t1","members":1}],"total":1}`)
}

// Two tabs of one player are one member: one member_joined, member_left
// only when the last tab goes, and a message reaches both tabs.
func TestTwoTabsOneMember(t *testing.T) {
	e := newEnv(t, room.Options{})
	ap, bp := e.Player("brave-otter"), e.Player("calm-heron")
	a1, a2, bob := ap.Tab(), ap.Tab(), bp.Tab()

	bob.Send(`{"type":"room.join","data":{"room":"lobby"}}`)
	bob.Read()
	a1.Send(`{"type":"room.join","id":1,"data":{"room":"lobby"}}`)
	a1.Expect("room.joined", "1", `{"room":"lobby","members":[`+bp.JSON()+`,`+ap.JSON()+`]}`)
	bob.Expect("room.member_joined", "", `{"room":"lobby","member":`+ap.JSON()+`}`)
	a2.Send(`{"type":"room.join","id":2,"data":{"room":"lobby"}}`)
	a2.Expect("room.joined", "2", `{"room":"lobby","members":[`+bp.JSON()+`,`+ap.JSON()+`]}`)
	bob.ExpectNothing() // no second member_joined

	bob.Send(`{"type":"room.say","data":{"room":"lobby","text":"hi both"}}`)
	msg := `{"room":"lobby","from":` + bp.JSON() + `,"text":"hi both"}`
	a1.Expect("room.message", "", msg)
	a2.Expect("room.message", "", msg)
	bob.Read()

	a1.Send(`{"type":"room.say","id":9,"data":{"room":"lobby","text":"from tab 1"}}`)
	msg = `{"room":"lobby","from":` + ap.JSON() + `,"text":"from tab 1"}`
	a1.Expect("room.message", "9", msg) // the sender's copy carries the id
	a2.Expect("room.message", "", msg)
	bob.Expect("room.message", "", msg)

	bob.Send(`{"type":"room.list","id":3}`)
	bob.Expect("room.list", "3", `{"rooms":[{"room":"lobby","members":2}],"total":1}`)

	a1.Close()
	bob.ExpectNothing() // a tab is left
	a2.Drop()
	bob.Expect("room.member_left", "", `{"room":"lobby","member":`+ap.JSON()+`}`)
}

func TestChatErrors(t *testing.T) {
	e := newEnv(t, room.Options{})
	a := e.Player("brave-otter").Tab()
	a.Send(`{"type":"room.join","id":0,"data":{"room":"lobby"}}`)
	a.Read()
	tests := []struct {
		name, frame, code string
	}{
		{"no data", `{"type":"room.join","id":1}`, "bad_request"},
		{"data not an object", `{"type":"room.join","id":1,"data":[1]}`, "bad_request"},
		{"bad room name", `{"type":"room.join","id":1,"data":{"room":"a b"}}`, "bad_room"},
		{"room name too long", `{"type":"room.join","id":1,"data":{"room":"` + strings.Repeat("x", 65) + `"}}`, "bad_room"},
		{"room name not a string", `{"type":"room.join","id":1,"data":{"room":7}}`, "bad_room"},
		{"say to a room not joined", `{"type":"room.say","id":1,"data":{"room":"other","text":"x"}}`, "not_in_room"},
		{"leave a room not joined", `{"type":"room.leave","id":1,"data":{"room":"other"}}`, "not_in_room"},
		{"relay to a room not joined", `{"type":"room.relay","id":1,"data":{"room":"other","data":1}}`, "not_in_room"},
		{"empty text", `{"type":"room.say","id":1,"data":{"room":"lobby","text":""}}`, "bad_request"},
		{"text not a string", `{"type":"room.say","id":1,"data":{"room":"lobby","text":5}}`, "bad_request"},
		{"text of 1001 characters", `{"type":"room.say","id":1,"data":{"room":"lobby","text":"` + strings.Repeat("é", 1001) + `"}}`, "bad_request"},
		{"unknown room type", `{"type":"room.dance","id":1,"data":{"room":"lobby"}}`, "unknown_type"},
		{"unknown family", `{"type":"dance.now","id":1}`, "unknown_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.Send(tt.frame)
			a.ExpectError(tt.code, "1")
		})
	}
	// 1000 characters of two bytes each are fine.
	a.Send(`{"type":"room.say","id":2,"data":{"room":"lobby","text":"` + strings.Repeat("é", 1000) + `"}}`)
	if f := a.Read(); f.Type != "room.message" {
		t.Fatalf("say 1000 characters = %s %s, want room.message", f.Type, f.Data)
	}
}

// A player is in at most RoomsPerPlayer rooms; the players of one address
// share RoomsPerAddress; the global cap is past what they can reach.
func TestRoomLimits(t *testing.T) {
	e := newEnv(t, room.Options{RoomsPerAddress: 20})
	p := e.Player("brave-otter")
	a := p.Tab()
	for i := range 16 {
		a.Send(fmt.Sprintf(`{"type":"room.join","id":%d,"data":{"room":"r%d"}}`, i, i))
		if f := a.Read(); f.Type != "room.joined" {
			t.Fatalf("join %d = %s %s", i, f.Type, f.Data)
		}
	}
	a.Send(`{"type":"room.join","id":99,"data":{"room":"r16"}}`)
	a.ExpectError("too_many_rooms", "99")
	// A second tab of the same player counts against the same cap.
	a2 := p.Tab()
	a2.Send(`{"type":"room.join","id":98,"data":{"room":"r17"}}`)
	a2.ExpectError("too_many_rooms", "98")
	// ... but may join the rooms the player is in.
	a2.Send(`{"type":"room.join","id":97,"data":{"room":"r3"}}`)
	if f := a2.Read(); f.Type != "room.joined" {
		t.Fatalf("join r3 = %s %s", f.Type, f.Data)
	}
	// Another player from the same address: 4 more, then the address is full.
	b := e.Player("calm-heron").Tab()
	for i := range 4 {
		b.Send(fmt.Sprintf(`{"type":"room.join","id":%d,"data":{"room":"b%d"}}`, i, i))
		if f := b.Read(); f.Type != "room.joined" {
			t.Fatalf("join b%d = %s %s", i, f.Type, f.Data)
		}
	}
	b.Send(`{"type":"room.join","id":96,"data":{"room":"b5"}}`)
	b.ExpectError("too_many_rooms", "96")
	// Leaving frees a place; the failed joins left no room behind.
	a.Send(`{"type":"room.leave","id":1,"data":{"room":"r0"}}`)
	a.Read()
	b.Send(`{"type":"room.join","id":95,"data":{"room":"b5"}}`)
	if f := b.Read(); f.Type != "room.joined" {
		t.Fatalf("join b5 after a leave = %s %s", f.Type, f.Data)
	}
	b.Send(`{"type":"room.list","id":94}`)
	var list struct{ Total int }
	b.Read().Decode(t, &list)
	if list.Total != 20 {
		t.Fatalf("rooms = %d, want 20", list.Total)
	}
}

func TestGlobalRoomCap(t *testing.T) {
	e := newEnv(t, room.Options{MaxRooms: 2})
	a := e.Player("brave-otter").Tab()
	a.Send(`{"type":"room.join","data":{"room":"a"}}`)
	a.Read()
	a.Send(`{"type":"room.join","data":{"room":"b"}}`)
	a.Read()
	a.Send(`{"type":"room.join","id":1,"data":{"room":"c"}}`)
	a.ExpectError("room_limit_reached", "1")
	a.Send(`{"type":"room.join","id":2,"data":{"room":"a"}}`)
	a.Expect("room.joined", "2", `{"room":"a","members":[`+a.P.JSON()+`]}`)
}

func TestRevokedMemberLeaves(t *testing.T) {
	e := newEnv(t, room.Options{})
	ap, bp := e.Player("brave-otter"), e.Player("calm-heron")
	a, b := ap.Tab(), bp.Tab()
	for _, c := range []*roomtest.Client{a, b} {
		c.Send(`{"type":"room.join","data":{"room":"lobby"}}`)
		c.ReadType("room.joined")
	}
	a.ReadType("room.member_joined")
	ap.Revoke(ap.Session)
	if code := a.WaitClose(); code != gateway.StatusRevoked {
		t.Fatalf("revoked socket closed with %d, want 4003", code)
	}
	b.Expect("room.member_left", "", `{"room":"lobby","member":`+ap.JSON()+`}`)
}
