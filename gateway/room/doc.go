// Package room is the room runtime: the gateway.Handler that games and the
// chat rooms are built on. It owns players across their sockets, rooms
// and their one order of events, room timers, leave reasons, holds
// (a player's place kept through a drop) and the room limits. It does not
// own any game's rules (a Kind's Handler does), the sockets themselves
// (package gateway), or sessions (package session).
//
// # Model
//
// A Kind is a family of rooms: the frame prefix it owns ("game."), a Route
// that names a frame's room, and New, which makes a room's Handler. A room
// runs its events one at a time, in one order: frames (Handler.Message),
// players leaving without asking (Handler.Leave with Dropped or Revoked),
// sockets of held players going and coming back (Awayer, Returner), its
// timers (Context.After) and shutdown (Stopper). Room code therefore holds
// no locks. Members are players, not sockets: a second tab of a player is
// the same member. An idle room costs no goroutine; a frame for an idle
// room runs on the caller's goroutine.
//
// A room's Handler gets a *Context for each event: Join, LeaveSocket,
// Hold, Release, Remove and Members for membership; Send (one player, all
// their sockets), SendSocket, Broadcast, BroadcastExcept and Reply for
// frames; After for timers; SetSummary for listings. Every frame sent to
// the socket whose frame is being handled carries that frame's id and is a
// reply: it never closes that socket as a slow consumer (1013).
//
// # Assembling
//
// Package gateway/app is the whole product with pluggable kinds; a game's
// main is
//
//	app.Main(app.Options{Kinds: func(e app.Env) []*room.Kind {
//		return []*room.Kind{chat.Kind(), mygame.Kind(e.SeatGrace)}
//	}})
//
// By hand (see the package Example): New(log, Options{}, kinds...) is the
// Handler of gateway.NewServer; the store's revocation feed must call both
// Server.Revoked and Runtime.Revoked; on shutdown call Runtime.Shutdown
// before gateway.Server.Shutdown.
//
// Package gateway/room/roomtest runs kinds behind a real gateway for tests;
// gateway/room/example is a complete small game; docs/ROOMS.md is the
// guide for module authors.
package room
