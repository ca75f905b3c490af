package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bigtwo/gateway/session"
)

// Constraint and SQLSTATE names the store translates.
const (
	usernameConstraint = "players_username_key"
	uniqueViolation    = "23505"
	serialization      = "40001"
	deadlockDetected   = "40P01"
)

// unavailable translates err, from a call made with ctx (the caller's
// context or one derived from it):
//   - when ctx was canceled (the caller gave up, e.g. its client hung up),
//     into an error wrapping context.Canceled and not ErrUnavailable: the
//     database is not at fault, so it must not be logged or counted as an
//     outage;
//   - when it means the database could not be reached or did not answer in
//     time (the store's timeout or the caller's deadline included), into err
//     joined with session.ErrUnavailable;
//   - otherwise (a constraint violation, a bug) into err unchanged.
func unavailable(ctx context.Context, err error) error {
	switch {
	case err == nil || errors.Is(err, session.ErrUnavailable):
		return err
	case ctx.Err() == context.Canceled && (errors.Is(err, context.Canceled) || isUnavailable(err)):
		if errors.Is(err, context.Canceled) {
			return err
		}
		// e.g. the server's "canceling statement due to user request".
		return errors.Join(context.Canceled, err)
	case isUnavailable(err):
		return errors.Join(session.ErrUnavailable, err)
	}
	return err
}

// isUnavailable reports whether err is a connection failure, a timeout or
// the database refusing work for now (shutting down, out of connections).
func isUnavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "53"), // insufficient resources
			pgErr.Code == "57014",               // query canceled (statement timeout, our cancel)
			pgErr.Code == "57P01",               // admin shutdown
			pgErr.Code == "57P02",               // crash shutdown
			pgErr.Code == "57P03":               // cannot connect now
			return true
		}
		return false
	}
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, context.Canceled) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.As(err, &netErr) ||
		errors.As(err, &connectErr) ||
		pgconn.Timeout(err) ||
		pgconn.SafeToRetry(err)
}

// retryable reports whether err aborted a transaction that can simply be run
// again: a deadlock between, say, the sweep and an eviction.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == serialization || pgErr.Code == deadlockDetected)
}

// usernameTaken reports whether err is the unique violation on players'
// usernames.
func usernameTaken(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == uniqueViolation && pgErr.ConstraintName == usernameConstraint
}
