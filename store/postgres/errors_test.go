package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bigtwo/gateway/session"
)

func TestUnavailable(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	live := context.Background()
	queryCanceled := &pgconn.PgError{Code: "57014"}
	unique := &pgconn.PgError{Code: uniqueViolation}
	tests := []struct {
		name            string
		ctx             context.Context
		err             error
		wantCanceled    bool
		wantUnavailable bool
	}{
		{"nil", live, nil, false, false},
		{"caller canceled", canceled, fmt.Errorf("acquire: %w", context.Canceled), true, false},
		{"caller canceled, server canceled the query", canceled, queryCanceled, true, false},
		{"caller canceled, connection dropped", canceled, io.ErrUnexpectedEOF, true, false},
		{"caller canceled, constraint", canceled, unique, false, false},
		{"deadline", expired, context.DeadlineExceeded, false, true},
		{"deadline, server canceled the query", expired, queryCanceled, false, true},
		{"connection dropped", live, io.EOF, false, true},
		{"constraint", live, unique, false, false},
		{"already unavailable", canceled, fmt.Errorf("x: %w", session.ErrUnavailable), false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := unavailable(tc.ctx, tc.err)
			if !errors.Is(got, tc.err) {
				t.Errorf("unavailable(%v) = %v, want it to wrap the error", tc.err, got)
			}
			if c := errors.Is(got, context.Canceled); c != tc.wantCanceled {
				t.Errorf("unavailable(%v) = %v: is context.Canceled %t, want %t", tc.err, got, c, tc.wantCanceled)
			}
			if u := errors.Is(got, session.ErrUnavailable); u != tc.wantUnavailable {
				t.Errorf("unavailable(%v) = %v: is ErrUnavailable %t, want %t", tc.err, got, u, tc.wantUnavailable)
			}
		})
	}
}
