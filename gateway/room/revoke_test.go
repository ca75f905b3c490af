package room

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/bigtwo/gateway/session"
	"github.com/google/uuid"
)

func (g *rig) revoke(p testPlayer, sid uuid.UUID) {
	g.rt.Revoked(session.Revocation{SessionID: sid, PlayerID: p.id, Reason: "logout"})
}

// A held player with no socket open whose session is revoked leaves with
// Revoked at once, and the grace does not fire later.
func TestRevokedWithoutSocket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRig(t, Options{})
		alice, bob := newPlayer("alice"), newPlayer("bob")
		a, b := g.tab(alice), g.tab(bob)
		g.must(a, "t.hold")
		g.must(b, "t.join")
		g.rt.disconnect(a.id, Dropped)
		time.Sleep(5 * time.Second)
		g.revoke(alice, alice.session)
		synctest.Wait()
		g.expect("0s t.hold alice", "0s t.join bob", "0s away alice", "5s leave alice revoked")
		time.Sleep(time.Hour)
		synctest.Wait()
		g.expect()
		if _, ok := g.member(b, alice); ok {
			t.Error("alice is a member after her session was revoked")
		}
		g.revoke(newPlayer("carol"), uuid.New()) // nobody the runtime knows
	})
}

// Logout closes the session's sockets with 4003 and sends the revocation
// on the feed, in either order: the room sees Revoked at once, once,
// whether it holds the player or not.
func TestLogoutIsRevokedAtOnce(t *testing.T) {
	for _, held := range []string{"t.hold", "t.join"} {
		for _, order := range []string{"close, feed", "feed, close", "close only", "feed only"} {
			t.Run(held+"/"+order, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					g := newRig(t, Options{})
					alice, bob := newPlayer("alice"), newPlayer("bob")
					a, a2, b := g.tab(alice), g.tab(alice), g.tab(bob) // two tabs of one session
					g.must(b, "t.join")
					g.must(a, held)
					g.must(a2, held)
					g.sc.take()
					switch order {
					case "close, feed":
						g.rt.disconnect(a.id, Revoked)
						g.rt.disconnect(a2.id, Revoked)
						g.revoke(alice, alice.session)
					case "feed, close":
						g.revoke(alice, alice.session)
						g.rt.disconnect(a.id, Revoked)
						g.rt.disconnect(a2.id, Revoked)
					case "close only":
						g.rt.disconnect(a.id, Revoked)
						g.rt.disconnect(a2.id, Revoked)
					case "feed only":
						g.revoke(alice, alice.session)
					}
					synctest.Wait()
					g.expect("0s leave alice revoked")
					time.Sleep(time.Hour)
					synctest.Wait()
					g.expect()
				})
			})
		}
	}
}

// Revoking one session of a player who has a socket of another session in
// the room changes nothing: they stay, with the other socket.
func TestRevokeOneSessionOfTwo(t *testing.T) {
	for _, held := range []string{"t.hold", "t.join"} {
		t.Run(held, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := newRig(t, Options{})
				alice, bob := newPlayer("alice"), newPlayer("bob")
				phone := uuid.New()
				a, a2, b := g.tab(alice), g.tabOf(alice, phone), g.tab(bob)
				g.must(b, "t.join")
				g.must(a, held)
				g.must(a2, held)
				g.sc.take()
				g.revoke(alice, alice.session)
				g.rt.disconnect(a.id, Revoked)
				synctest.Wait()
				g.expect()
				if m, ok := g.member(b, alice); !ok || m.Sockets != 1 {
					t.Fatalf("alice after one session's revocation: member %v with %d sockets, want 1", ok, m.Sockets)
				}
				g.rt.disconnect(a2.id, Dropped)
				synctest.Wait()
				if held == "t.hold" {
					g.expect("0s away alice")
				} else {
					g.expect("0s leave alice dropped")
				}
			})
		})
	}
}

// A held player away from the room keeps their place when a session of
// theirs that never was in the room is revoked (a session evicted on
// another device); the revocation of the session they played with ends it.
func TestRevokeSessionNotInRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRig(t, Options{})
		alice, bob := newPlayer("alice"), newPlayer("bob")
		a, b := g.tab(alice), g.tab(bob)
		g.must(a, "t.hold")
		g.must(b, "t.join")
		g.rt.disconnect(a.id, Dropped)
		g.revoke(alice, uuid.New())
		synctest.Wait()
		g.expect("0s t.hold alice", "0s t.join bob", "0s away alice")
		if _, ok := g.member(b, alice); !ok {
			t.Fatal("alice lost her place to the revocation of a session that was never in the room")
		}
		g.revoke(alice, alice.session)
		synctest.Wait()
		g.expect("0s leave alice revoked")
	})
}
