// Package session owns players, sessions and identities: the service that
// creates, validates, refreshes and revokes sessions, the access tokens (JWT
// signing and strict verification with a key ring), the refresh tokens, the
// HTTP handlers of the session API and the Bearer middleware.
//
// Sockets authenticate through Service.Authenticate, which, given a
// revocation feed (Options.Feed), skips the store while the feed proves the
// revocations it delivered complete (fastpath.go); everything else reads
// and writes the store.
//
// It defines the Store it needs; store/memory and store/postgres implement it
// and store/storetest proves they agree. It does not know about WebSockets:
// package gateway consumes the Service through its own small interface.
package session
