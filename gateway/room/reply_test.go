package room_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/room"
	"github.com/bigtwo/gateway/gateway/room/roomtest"
	"github.com/prometheus/client_golang/prometheus"
)

// burstKind's one room "b" answers burst.join (Join, a reply), burst.reply (20
// replies) and burst.flood (20 frames of 64 KiB to every other member,
// then a reply).
func burstKind() *room.Kind {
	return &room.Kind{
		Name:   "burst",
		Prefix: "burst.",
		Route:  func(gateway.Message) (room.Target, error) { return room.Target{Room: "b", Create: true}, nil },
		New:    func(string) room.Handler { return burstRoom{} },
	}
}

type burstRoom struct{}

var pad = json.RawMessage(`{"pad":"` + strings.Repeat("x", 64<<10) + `"}`)

func (burstRoom) Message(r *room.Context, s room.Socket, m gateway.Message) error {
	switch m.Type {
	case "burst.join":
		_, err := r.Join(s)
		r.Reply(gateway.Message{Type: "burst.joined"})
		return err
	case "burst.reply":
		for i := range 20 {
			r.Reply(gateway.Message{Type: "burst.part", Data: json.RawMessage(fmt.Sprint(i))})
		}
	case "burst.flood":
		for _, mem := range r.Members() {
			if mem.Player.ID != s.Player.ID {
				for range 20 {
					r.Send(mem.Player.ID, gateway.Message{Type: "burst.pad", Data: pad})
				}
			}
		}
		r.Reply(gateway.Message{Type: "burst.flooded"})
	}
	return nil
}

func (burstRoom) Leave(*room.Context, room.Player, room.Reason) {}

// A module's replies to a socket's own requests never close it with 1013,
// however far they exceed the send queue (4 frames here); frames it sends
// to a slow other player do close that player's socket.
func TestRepliesAreNotSlowConsumers(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := roomtest.New(t, room.Options{}, gateway.Options{SendQueue: 4, Metrics: gateway.NewMetrics(reg)}, burstKind())
	alice, bob := e.Player("alice").Tab(), e.Player("bob").Tab()
	alice.Send(`{"type":"burst.join","id":0}`)
	bob.Send(`{"type":"burst.join","id":0}`)
	alice.Read()
	bob.Read()

	// Five requests at once: 100 replies, each with its request's id.
	for id := 1; id <= 5; id++ {
		alice.Send(fmt.Sprintf(`{"type":"burst.reply","id":%d}`, id))
	}
	for id := 1; id <= 5; id++ {
		for i := range 20 {
			alice.Expect("burst.part", fmt.Sprint(id), fmt.Sprint(i))
		}
	}
	alice.ExpectNothing()
	if n := overflows(t, reg); n != 0 {
		t.Fatalf("send queue overflows after the replies = %v, want 0", n)
	}

	// Bob reads nothing: once the network buffers are full, his queue
	// overflows and his socket closes with 1013. Alice's stays open.
	for round := 0; overflows(t, reg) == 0; round++ {
		if round == 200 {
			t.Fatal("200 rounds of 1.25 MiB did not overflow the send queue of a client that reads nothing")
		}
		alice.Send(`{"type":"burst.flood","id":"f"}`)
		alice.Expect("burst.flooded", `"f"`, "null")
	}
	if code := bob.WaitClose(); code != 1013 {
		t.Errorf("the slow consumer closed with %d, want 1013", code)
	}
	alice.ExpectNothing()
	if n := overflows(t, reg); n != 1 {
		t.Errorf("send queue overflows = %v, want 1 (bob's)", n)
	}
}

// overflows reads gateway_send_queue_overflows_total.
func overflows(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "gateway_send_queue_overflows_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("no gateway_send_queue_overflows_total")
	return 0
}
