package cluster_test

import (
	"testing"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/room"
	"github.com/bigtwo/gateway/gateway/room/roomtest"
)

// hostingSuite is room hosting's conformance suite: what players see must
// not depend on whether their sockets are on one gateway or several. envs
// gives the gateways to put players on (one process: the same one).
func hostingSuite(t *testing.T, envs func(t *testing.T) (first *roomtest.Env, on []*roomtest.Env, settle func())) {
	t.Run("chat members and messages", func(t *testing.T) {
		first, on, settle := envs(t)
		ps := []*roomtest.Player{first.Player("ann"), first.Player("ben"), first.Player("cat")}
		cs := make([]*roomtest.Client, len(ps))
		for i, p := range ps {
			cs[i] = p.TabAt(on[i%len(on)])
		}
		settle()
		members := ""
		for i, c := range cs {
			c.Send(`{"type":"room.join","id":1,"data":{"room":"suite"}}`)
			if i > 0 {
				members += ","
			}
			members += ps[i].JSON()
			c.Expect("room.joined", "1", `{"room":"suite","members":[`+members+`]}`)
			for _, o := range cs[:i] {
				o.Expect("room.member_joined", "", `{"room":"suite","member":`+ps[i].JSON()+`}`)
			}
		}
		cs[2].Send(`{"type":"room.say","id":2,"data":{"room":"suite","text":"one order"}}`)
		msg := `{"room":"suite","from":` + ps[2].JSON() + `,"text":"one order"}`
		cs[2].Expect("room.message", "2", msg)
		cs[0].Expect("room.message", "", msg)
		cs[1].Expect("room.message", "", msg)
		cs[0].Send(`{"type":"room.leave","id":3,"data":{"room":"suite"}}`)
		cs[0].Expect("room.left", "3", `{"room":"suite"}`)
		cs[1].Expect("room.member_left", "", `{"room":"suite","member":`+ps[0].JSON()+`}`)
		cs[2].Expect("room.member_left", "", `{"room":"suite","member":`+ps[0].JSON()+`}`)
		cs[0].Send(`{"type":"room.say","id":4,"data":{"room":"suite","text":"x"}}`)
		cs[0].ExpectError("not_in_room", "4")
	})
	t.Run("table seats and errors", func(t *testing.T) {
		first, on, settle := envs(t)
		a, b := first.Player("sat-a"), first.Player("sat-b")
		ca, cb := a.TabAt(on[0]), b.TabAt(on[len(on)-1])
		settle()
		ca.Send(`{"type":"game.sit","id":1,"data":{"table":"suite-t"}}`)
		ca.Expect("game.seated", "1", `{"table":"suite-t","seat":0}`)
		ca.ReadType("game.state")
		cb.Send(`{"type":"game.sit","id":2,"data":{"table":"suite-t"}}`)
		cb.Expect("game.seated", "2", `{"table":"suite-t","seat":1}`)
		cb.ReadType("game.state")
		ca.ReadType("game.state") // a's copy of the same change
		cb.Send(`{"type":"game.play","id":3,"data":{"table":"suite-t","cards":["3D"]}}`)
		cb.ExpectError("no_game", "3")
		cb.Send(`{"type":"game.start","id":4,"data":{"table":"suite-t"}}`)
		cb.ExpectError("not_enough_players", "4")
		cb.Send(`{"type":"game.list","id":5}`)
		cb.Expect("game.list", "5", `{"tables":[{"table":"suite-t","seated":2,"status":"waiting"}],"total":1}`)
	})
}

func TestHostingSuiteOneProcess(t *testing.T) {
	hostingSuite(t, func(t *testing.T) (*roomtest.Env, []*roomtest.Env, func()) {
		e := roomtest.New(t, room.Options{}, gateway.Options{}, kinds()...)
		return e, []*roomtest.Env{e}, func() {}
	})
}

func TestHostingSuiteThreeGateways(t *testing.T) {
	hostingSuite(t, func(t *testing.T) (*roomtest.Env, []*roomtest.Env, func()) {
		ns := natsServer(t)
		a := startNode(t, ns.ClientURL(), "a", nil)
		b := startNode(t, ns.ClientURL(), "b", a.env)
		c := startNode(t, ns.ClientURL(), "c", a.env)
		return a.env, []*roomtest.Env{a.env, b.env, c.env}, func() { waitMirrored(t, a, b, c) }
	})
}
