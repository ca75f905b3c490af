// Command gateway is the Big Two session gateway: anonymous sessions over
// HTTP, authenticated WebSockets, the chat rooms and the Big Two tables.
// It is package app with the shipped room kinds; see its documentation.
//
//	gateway            serve (memory store unless GATEWAY_DATABASE_URL is set)
//	gateway migrate    apply the PostgreSQL migrations and exit
//
// Every setting is a flag and a GATEWAY_* environment variable; see
// docs/OPERATIONS.md or `gateway -h`.
package main

import "github.com/bigtwo/gateway/gateway/app"

func main() {
	app.Main(app.Options{})
}
