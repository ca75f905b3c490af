// Package postgres is the PostgreSQL implementation of session.Store, for
// deployments where several gateway processes share one database.
//
// Players and sessions are rows (see migrations/), migrated by Migrate from
// SQL embedded in the binary. Each operation is atomic across processes: the
// per-player session limit holds under a lock on the player's row, and of
// two processes rotating the same refresh token one wins and the other sees
// reuse. Every revocation notifies the 'session_revoked' channel in the same
// transaction (a trigger does it), and Watch delivers those notifications,
// re-reading what it may have missed after its connection comes back. Watch
// also sends itself a heartbeat on that channel every second; Synced says up
// to when the revocations delivered are known complete, which lets the
// session service skip the database when it authenticates a socket.
//
// Calls that cannot reach the database in time fail with an error wrapping
// session.ErrUnavailable; the pool reconnects on its own when the database
// returns. Calls whose caller's context is canceled fail with an error
// wrapping context.Canceled instead: that is the caller giving up, not an
// outage. Listening tells readiness probes whether revocations from other
// processes are arriving. The package does not know about HTTP or WebSockets.
package postgres
