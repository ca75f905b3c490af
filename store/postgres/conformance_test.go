package postgres_test

import (
	"testing"

	"github.com/bigtwo/gateway/store/postgres"
	"github.com/bigtwo/gateway/store/postgres/pgtest"
	"github.com/bigtwo/gateway/store/storetest"
)

// TestConformance runs the shared store suite, each subtest on a fresh
// schema of its own.
func TestConformance(t *testing.T) {
	pgtest.DatabaseURL(t) // skip before the suite starts when there is no database
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return openStore(t, pgtest.Schema(t), postgres.Options{})
	})
}
