package memory_test

import (
	"testing"

	"github.com/bigtwo/gateway/store/memory"
	"github.com/bigtwo/gateway/store/storetest"
	"go.uber.org/goleak"
)

var _ storetest.Store = (*memory.Store)(nil)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return memory.New() })
}

func TestPingClose(t *testing.T) {
	st := memory.New()
	if err := st.Ping(t.Context()); err != nil {
		t.Errorf("Ping = %v, want nil", err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("Close = %v, want nil", err)
	}
}
