package room_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"

	"github.com/bigtwo/gateway/gateway"
	"github.com/bigtwo/gateway/gateway/room"
	"github.com/bigtwo/gateway/gateway/room/chat"
	"github.com/bigtwo/gateway/gateway/room/example"
	"github.com/bigtwo/gateway/session"
	"github.com/bigtwo/gateway/store/memory"
)

// The runtime assembled by hand, as package app does it (use app unless
// you need less than the whole product): the Runtime is the gateway's
// Handler, its kinds side by side, and the store's revocation feed goes to
// both the gateway (which closes the session's sockets with 4003) and the
// rooms (which see the player leave, socket or no socket). On the way
// down, rooms stop before the sockets close, so that they do not see
// their players drop.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	log := zerolog.Nop()
	st := memory.New()
	keys, _ := session.RandomKeyRing()
	sessions := session.NewService(st, keys, log, session.Options{})
	rooms := room.New(log, room.Options{}, chat.Kind(), example.Kind(example.Options{Secret: func() int { return 42 }}))
	gw := gateway.NewServer(sessions, rooms, log, gateway.Options{})
	watching, watchDone := make(chan struct{}), make(chan error, 1)
	go func() {
		watchDone <- st.Watch(ctx, func(r session.Revocation) {
			gw.Revoked(r)
			rooms.Revoked(r)
		}, func() { close(watching) })
	}()
	<-watching
	srv := httptest.NewServer(gw) // in production: GET /ws of the HTTP server
	defer func() {
		_ = rooms.Shutdown(ctx)
		_ = gw.Shutdown(ctx)
		srv.Close()
		cancel()
		<-watchDone
	}()

	// A player with a socket, as a browser would be.
	s, _ := sessions.Create(ctx, "", session.ClientInfo{IP: "192.0.2.1"})
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + s.Token}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	read := func() {
		_, b, err := c.Read(ctx)
		if err != nil {
			fmt.Println("closed:", int(websocket.CloseStatus(err)))
			return
		}
		var f struct {
			Type string          `json:"type"`
			ID   json.RawMessage `json:"id"`
		}
		_ = json.Unmarshal(b, &f)
		fmt.Println(strings.TrimSpace(f.Type + " " + string(f.ID)))
	}
	read()
	_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"guess.join","id":1,"data":{"room":"g"}}`))
	read()
	_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"guess.guess","id":2,"data":{"room":"g","number":42}}`))
	read()
	read()
	_ = sessions.RevokeSession(ctx, s.Session.ID, "logout")
	read()
	// Output:
	// welcome
	// guess.joined 1
	// guess.hint 2
	// guess.won 2
	// closed: 4003
}
