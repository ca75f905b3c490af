// Package pgtest gives tests that need PostgreSQL the database named by
// GATEWAY_TEST_DATABASE_URL, a fresh schema per test, and a TCP proxy that
// cuts or stalls the way to the database. It is meant for _test.go files
// only: without the variable the tests that use it skip, and with the
// variable set but the database unusable they fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// envVar names the variable that holds the test database's connection
// string.
const envVar = "GATEWAY_TEST_DATABASE_URL"

// DatabaseURL returns GATEWAY_TEST_DATABASE_URL, skipping the test with a
// clear message when it is unset.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(envVar)
	if u == "" {
		t.Skip(envVar + " is not set: skipping the PostgreSQL tests " +
			"(e.g. " + envVar + "=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return u
}

// Schema creates a fresh schema for the test and returns the database URL
// selecting it (search_path). The schema is dropped at cleanup; the cleanup
// is registered before Schema returns, so it runs after the cleanups
// registered later, e.g. of the stores or gateways opened on the URL. It
// skips like DatabaseURL, and fails (not skips) when the variable is set but
// the database is unusable.
func Schema(t testing.TB) string {
	t.Helper()
	base := DatabaseURL(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("%s is set but unusable: %v", envVar, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// rand.Text is base32: letters and digits 2-7, a valid identifier
	// after the prefix.
	name := "t_" + strings.ToLower(rand.Text())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("create schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		// t.Context() has ended by now.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return withSearchPath(t, base, name)
}

// Exec runs one statement on a connection of its own to u (the URL Schema
// returned, say) and returns how many rows it affected or returned; any
// failure fails the test.
func Exec(t testing.TB, u, sql string, args ...any) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	tag, err := conn.Exec(ctx, sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return tag.RowsAffected()
}

// withSearchPath returns the connection string base (URL or key=value form)
// selecting schema.
func withSearchPath(t testing.TB, base, schema string) string {
	t.Helper()
	if !strings.HasPrefix(base, "postgres://") && !strings.HasPrefix(base, "postgresql://") {
		return base + " search_path=" + schema
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", envVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// WithHost returns the URL u with its host:port replaced by addr. It fails
// the test when u is not in URL form.
func WithHost(t testing.TB, u, addr string) string {
	t.Helper()
	p := parseURL(t, u)
	p.Host = addr
	return p.String()
}

// HostOf returns the host:port of the URL u, with PostgreSQL's port 5432
// when u names none. It fails the test when u is not in URL form.
func HostOf(t testing.TB, u string) string {
	t.Helper()
	p := parseURL(t, u)
	if p.Port() == "" {
		return p.Host + ":5432"
	}
	return p.Host
}

func parseURL(t testing.TB, u string) *url.URL {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		t.Fatalf("this test needs %s in URL form, got %q", envVar, u)
	}
	return p
}
