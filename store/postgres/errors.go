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

// unavailable returns err joined with session.ErrUnavailable when it means
// the database could not be reached or did not answer in time, and err
// unchanged otherwise (a constraint violation, a bug).
func unavailable(err error) error {
	if err == nil || errors.Is(err, session.ErrUnavailable) || !isUnavailable(err) {
		return err
	}
	return errors.Join(session.ErrUnavailable, err)
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
