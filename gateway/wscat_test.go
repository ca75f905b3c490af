package gateway

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestWscat runs the third-party wscat client (npm) against the gateway:
// header authentication and a ping round trip. It runs only when
// GATEWAY_TEST_WSCAT names the wscat binary.
func TestWscat(t *testing.T) {
	bin := os.Getenv("GATEWAY_TEST_WSCAT")
	if bin == "" {
		t.Skip("set GATEWAY_TEST_WSCAT to the wscat binary (npm install -g wscat) to run this test")
	}
	if _, err := exec.LookPath(bin); err != nil {
		t.Fatalf("GATEWAY_TEST_WSCAT=%q is not usable: %v", bin, err)
	}
	g := newTestGateway(t, Options{})
	tok, id := g.token(t, time.Hour)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// wscat exits at once when stdin is at EOF: keep stdin open with a pipe
	// that we close once the answer has arrived (or when -w ends it).
	cmd := exec.CommandContext(ctx, bin, "-c", g.url, "-H", "Authorization: Bearer "+tok,
		"-x", `{"type":"ping","id":"wscat"}`, "-w", "2")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("wscat: %v\n%s", err, out)
	}
	got := string(out)
	for _, want := range []string{`"type":"welcome"`, id.SessionID.String(), `{"type":"pong","id":"wscat"}`} {
		if !strings.Contains(got, want) {
			t.Errorf("wscat output lacks %s:\n%s", want, got)
		}
	}
}
