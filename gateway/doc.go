// Package gateway owns the WebSocket side of the product: GET /ws, its
// four authentication paths, the authenticated connection (identity, send
// queue, heartbeats, rate and size limits, token expiry and in-band
// refresh), routing of every other frame to a Handler, the registry
// of live sockets that revocation (4003) and drain (1001) go through, and
// the mapping of errors to close codes, and the Prometheus metrics of all
// this (Metrics, on a registry the caller passes in). docs/PROTOCOL.md
// describes the wire protocol.
//
// It does not know how sessions are stored or tokens verified (it asks an
// Authenticator, normally session.Service) nor what rooms are (package
// gateway/room is the room runtime that implements Handler).
//
// Per-socket cost is kept small on purpose: an idle authenticated socket
// has one goroutine (its reader), no writer goroutine or channel, read and
// write buffers of 1 and 2 KiB (Options.ReadBufferSize, WriteBufferSize)
// instead of net/http's 4 + 4 KiB, and its timers are time.AfterFunc. A
// frame's read buffer comes from a pool once the frame arrives; a reply
// to the socket's own request is written by the goroutine that made it
// when no writer runs; writer and dispatcher goroutines exist only while
// they have work.
package gateway
