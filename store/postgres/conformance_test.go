package postgres_test

import (
	"testing"

	"github.com/bigtwo/gateway/store/postgres"
	"github.com/bigtwo/gateway/store/storetest"
)

// TestConformance runs the shared store suite, each subtest on a fresh
// schema of its own.
func TestConformance(t *testing.T) {
	databaseURL(t) // skip before the suite starts when there is no database
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return openStore(t, newSchema(t), postgres.Options{})
	})
}
