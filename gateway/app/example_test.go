package app_test

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/bigtwo/gateway/gateway/app"
	"github.com/bigtwo/gateway/gateway/room"
	"github.com/bigtwo/gateway/gateway/room/chat"
	"github.com/bigtwo/gateway/gateway/room/example"
)

// A game's own server is a main package of a few lines: the whole product
// (every GATEWAY_* setting as flag and env, memory or PostgreSQL store,
// `migrate`, rate limits, CORS, health, readiness, metrics, admin API, web
// client, drain, the revocation feed to sockets and rooms) with the game's
// room kinds next to the chat rooms.
//
//	package main
//
//	import (
//		"github.com/bigtwo/gateway/gateway/app"
//		"github.com/bigtwo/gateway/gateway/room"
//		"github.com/bigtwo/gateway/gateway/room/chat"
//		"github.com/bigtwo/gateway/gateway/room/example"
//	)
//
//	func main() {
//		app.Main(app.Options{Kinds: func(e app.Env) []*room.Kind {
//			return []*room.Kind{
//				chat.Kind(),
//				example.Kind(example.Options{Grace: e.SeatGrace, Log: e.Log}),
//			}
//		}})
//	}
func ExampleMain() {
	app.Main(app.Options{Kinds: func(e app.Env) []*room.Kind {
		return []*room.Kind{
			chat.Kind(),
			example.Kind(example.Options{Grace: e.SeatGrace, Log: e.Log}),
		}
	}})
}

// Options.Kinds runs once the settings are parsed, with what room code may
// need of them; each kind owns the frames of its prefix.
func ExampleOptions() {
	opts := app.Options{Kinds: func(e app.Env) []*room.Kind {
		return []*room.Kind{
			chat.Kind(),
			example.Kind(example.Options{Grace: e.SeatGrace, Log: e.Log}),
		}
	}}
	env := app.Env{Log: slog.New(slog.DiscardHandler), SeatGrace: 2 * time.Minute, TurnTimeout: 30 * time.Second}
	for _, k := range opts.Kinds(env) {
		fmt.Printf("%s rooms: %s* frames\n", k.Name, k.Prefix)
	}
	// Output:
	// chat rooms: room.* frames
	// guess rooms: guess.* frames
}
