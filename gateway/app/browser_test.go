package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bigtwo/gateway/store/postgres/pgtest"
	"github.com/bigtwo/gateway/web"
)

// End-to-end tests of web/ (client.js and the demo page) in real headless
// Chromium against the real gateway. They run only when GATEWAY_TEST_CHROMIUM
// names the browser (e.g. /usr/bin/chromium).

// browserWait bounds every wait on a page condition.
const browserWait = 15 * time.Second

// chromiumPath returns the browser to test with, or skips.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("GATEWAY_TEST_CHROMIUM")
	if p == "" {
		t.Skip("browser tests skipped: set GATEWAY_TEST_CHROMIUM to a Chromium binary (e.g. /usr/bin/chromium) to run them")
	}
	if _, err := exec.LookPath(p); err != nil {
		t.Fatalf("GATEWAY_TEST_CHROMIUM=%q is not usable: %v", p, err)
	}
	return p
}

// newProfile starts a browser with a fresh profile (its own localStorage)
// and returns the context of its first tab. The browser stops at cleanup.
func newProfile(t *testing.T, execPath string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Tabs in the background must keep their refresh timers.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		acancel()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser: no timeout on this context
		t.Fatalf("start %s: %v", execPath, err)
	}
	return ctx
}

// newTab opens another tab of the profile of ctx; it closes at cleanup.
func newTab(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return tab
}

// do runs steps on tab within browserWait.
func do(t *testing.T, tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in tab.
func eval[T any](t *testing.T, tab context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, browserWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls the JavaScript condition cond in tab until it is true, or
// fails after browserWait showing what the page says.
func waitFor(t *testing.T, tab context.Context, what, cond string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, browserWait+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](cond,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(browserWait)))
	if err != nil {
		t.Fatalf("waiting for %s: %v\npage: %s", what, err, pageSummary(tab))
	}
}

// pageSummary is the status line and the connection events, for failures;
// on the game page also what its table shows.
func pageSummary(tab context.Context) string {
	ctx, cancel := context.WithTimeout(tab, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`[byTestID("status").textContent, byTestID("username").textContent, JSON.stringify(demo.client.stats),
			...[...byTestID("events").children].map(e => e.textContent),
			...(window.tableSnap ? [JSON.stringify(tableSnap())] : [])].join(" | ")`))
	if err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	return s
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// The page helpers below are defined in the page by openDemo.
const pageHelpers = `
window.byTestID = (id) => document.querySelector('[data-testid="' + id + '"]');
window.connected = () => byTestID("status").textContent.includes("connected") && demo.client.state === "connected";
window.chatHas = (from, text) => [...byTestID("log").children].some(li =>
	li.querySelector(".from")?.textContent === from && li.querySelector(".text")?.textContent === text);
window.membersAre = (names) => {
	const got = [...byTestID("members").children].map(li => li.textContent).sort();
	return JSON.stringify(got) === JSON.stringify([...names].sort());
};
true`

// openDemo navigates tab to the demo page at pageURL, waits until it is
// connected and returns the player's username.
func openDemo(t *testing.T, tab context.Context, pageURL string) string {
	t.Helper()
	do(t, tab, "open "+pageURL, chromedp.Navigate(pageURL))
	eval[bool](t, tab, pageHelpers)
	waitFor(t, tab, "connected", `connected()`)
	name := eval[string](t, tab, `byTestID("username").textContent`)
	if !petName.MatchString(name) {
		t.Fatalf("username = %q, want a pet name", name)
	}
	return name
}

// tid selects the element with data-testid id.
func tid(id string) chromedp.CSS { return chromedp.CSS(`[data-testid="` + id + `"]`) }

var petName = regexp.MustCompile(`^[a-z]+(-[a-z0-9]+)+$`)

// joinRoom joins room through the page's form and waits until it is in.
func joinRoom(t *testing.T, tab context.Context, room string) {
	t.Helper()
	do(t, tab, "join "+room,
		chromedp.SetValue(tid("room"), room),
		chromedp.Click(tid("join")),
	)
	waitFor(t, tab, "in room "+room, `byTestID("current-room").textContent === "#`+room+`"`)
}

// say sends text to the room through the page's form.
func say(t *testing.T, tab context.Context, text string) {
	t.Helper()
	do(t, tab, "say "+text,
		chromedp.SendKeys(tid("message"), text),
		chromedp.Click(tid("send")),
	)
}

type pageSession struct {
	SessionID string `json:"session_id"`
	PlayerID  string `json:"player_id"`
	Username  string `json:"username"`
}

func sessionOf(t *testing.T, tab context.Context) pageSession {
	t.Helper()
	return eval[pageSession](t, tab, `demo.client.session`)
}

// storedSession is the JavaScript expression of the session the page keeps
// in localStorage.
const storedSession = `JSON.parse(localStorage.getItem("bigtwo.session:" + demo.client.baseURL))`

// storedToken is the access token the page keeps in localStorage.
func storedToken(t *testing.T, tab context.Context) string {
	t.Helper()
	return eval[string](t, tab, storedSession+`.token`)
}

func TestBrowserTwoPlayersChat(t *testing.T) {
	chromium := chromiumPath(t)
	g := startGateway(t, nil)
	alice, bob := newProfile(t, chromium), newProfile(t, chromium)
	aliceName := openDemo(t, alice, g.url+"/console.html")
	bobName := openDemo(t, bob, g.url+"/console.html")
	if aliceName == bobName || sessionOf(t, alice).PlayerID == sessionOf(t, bob).PlayerID {
		t.Fatalf("two profiles share a player: %q and %q", aliceName, bobName)
	}

	joinRoom(t, alice, "table-1")
	joinRoom(t, bob, "table-1")
	both := jsString(aliceName) + "," + jsString(bobName)
	waitFor(t, alice, "both members at alice", `membersAre([`+both+`])`)
	waitFor(t, bob, "both members at bob", `membersAre([`+both+`])`)

	say(t, alice, "hello from alice")
	waitFor(t, bob, "alice's message at bob", `chatHas(`+jsString(aliceName)+`, "hello from alice")`)
	waitFor(t, alice, "alice's own message", `chatHas(`+jsString(aliceName)+`, "hello from alice")`)

	do(t, bob, "relay a game frame",
		chromedp.SetValue(tid("game-data"), `{"cards":["3D","3S"]}`),
		chromedp.Click(tid("game-send")))
	waitFor(t, alice, "bob's game frame at alice", `[...byTestID("game-log").children].some(li =>
		li.querySelector(".from").textContent === `+jsString(bobName)+` && li.textContent.includes("3S"))`)

	do(t, bob, "bob leaves", chromedp.Click(tid("leave")))
	waitFor(t, alice, "bob gone from alice's members", `membersAre([`+jsString(aliceName)+`])`)
}

func TestBrowserReloadKeepsPlayer(t *testing.T) {
	chromium := chromiumPath(t)
	g := startGateway(t, nil)
	tab := newProfile(t, chromium)
	name := openDemo(t, tab, g.url+"/")
	before := sessionOf(t, tab)

	do(t, tab, "reload", chromedp.Reload())
	eval[bool](t, tab, pageHelpers)
	waitFor(t, tab, "connected after reload", `connected()`)
	if after := sessionOf(t, tab); after != before {
		t.Fatalf("after reload the page is %+v, want the same player and session %+v", after, before)
	}
	if got := eval[string](t, tab, `byTestID("username").textContent`); got != name {
		t.Fatalf("username after reload = %q, want %q", got, name)
	}
}

func TestBrowserTabsShareSessionAcrossRefreshes(t *testing.T) {
	chromium := chromiumPath(t)
	g := startGateway(t, map[string]string{"GATEWAY_TOKEN_TTL": "4s"})
	tab1 := newProfile(t, chromium)
	openDemo(t, tab1, g.url+"/")
	tab2 := newTab(t, tab1)
	openDemo(t, tab2, g.url+"/")
	first := sessionOf(t, tab1)
	if s2 := sessionOf(t, tab2); s2 != first {
		t.Fatalf("second tab has session %+v, want the first tab's %+v", s2, first)
	}

	// Four rotations of a 4 s token take about 10 s: past the first tokens'
	// expiry, so the sockets live on in-band refreshes.
	waitFor(t, tab1, "four token rotations", storedSession+`.generation >= 4`)
	for i, tab := range []context.Context{tab1, tab2} {
		waitFor(t, tab, "the tab uses the stored tokens", `connected() && demo.client.session.expires_at === `+storedSession+`.expires_at`)
		if s := sessionOf(t, tab); s != first {
			t.Errorf("tab %d: session %+v, want %+v", i+1, s, first)
		}
		if n := eval[int](t, tab, `demo.client.stats.welcomes`); n != 1 {
			t.Errorf("tab %d: %d welcomes, want 1 (the socket should never drop)\npage: %s", i+1, n, pageSummary(tab))
		}
	}
	refreshes := eval[int](t, tab1, `demo.client.stats.refreshes`) + eval[int](t, tab2, `demo.client.stats.refreshes`)
	if gen := eval[int](t, tab1, storedSession+`.generation`); refreshes != gen {
		t.Errorf("%d HTTP refreshes by the tabs, but the stored tokens are at generation %d", refreshes, gen)
	}
	res := g.do(t, "GET", "/session/validate", map[string]string{"Authorization": "Bearer " + storedToken(t, tab2)})
	if res.status != http.StatusOK {
		t.Fatalf("validate the shared session = %d %s, want 200 (not revoked)", res.status, res.body)
	}
}

func TestBrowserLogoutClosesSocket(t *testing.T) {
	chromium := chromiumPath(t)
	g := startGateway(t, nil)
	tab := newProfile(t, chromium)
	openDemo(t, tab, g.url+"/")
	other := newTab(t, tab) // a second tab of the same browser logs out too
	openDemo(t, other, g.url+"/")
	tok := storedToken(t, tab)

	do(t, tab, "log out", chromedp.Click(tid("menu")), chromedp.Click(tid("logout")))
	waitFor(t, tab, "logged out shown", `byTestID("status").textContent.includes("logged out") && !byTestID("status").textContent.includes("connected")`)
	waitFor(t, tab, "socket closed by the server with 4003", `[...byTestID("events").children].some(li => li.textContent.includes("socket closed 4003"))`)
	waitFor(t, other, "the other tab logged out", `byTestID("status").textContent.includes("logged out")`)
	if st := eval[string](t, tab, `demo.client.state`); st != "logged_out" {
		t.Fatalf("client state = %q, want logged_out", st)
	}
	if n := eval[int](t, tab, `localStorage.length`); n != 0 {
		t.Fatalf("localStorage keeps %d items after logout, want none", n)
	}
	wantJSONError(t, g.do(t, "GET", "/session/validate", map[string]string{"Authorization": "Bearer " + tok}), http.StatusUnauthorized, "session_revoked")
}

func TestBrowserCrossOrigin(t *testing.T) {
	chromium := chromiumPath(t)
	g := startGateway(t, map[string]string{"GATEWAY_ALLOWED_ORIGINS": "127.0.0.1:*"})
	mux := http.NewServeMux()
	web.Register(mux)
	site := httptest.NewServer(mux) // another port: another origin
	t.Cleanup(site.Close)

	// The HTTP API needs CORS for a page of another origin.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodOptions, g.url+"/session", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", site.URL)
	req.Header.Set("Access-Control-Request-Method", "POST")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != site.URL {
		t.Fatalf("CORS preflight from %s = %d, allow-origin %q", site.URL, res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
	}

	alice, bob := newProfile(t, chromium), newProfile(t, chromium)
	aliceName := openDemo(t, alice, site.URL+"/console.html?gateway="+url.QueryEscape(g.url))
	bobName := openDemo(t, bob, g.url+"/console.html")
	joinRoom(t, alice, "x-origin")
	joinRoom(t, bob, "x-origin")
	waitFor(t, alice, "bob in the room", `membersAre([`+jsString(aliceName)+`,`+jsString(bobName)+`])`)
	say(t, alice, "from afar")
	waitFor(t, bob, "the cross-origin message", `chatHas(`+jsString(aliceName)+`, "from afar")`)
}

// TestBrowserCrossOriginSocket covers the WebSocket half of a page served
// by another origin: the session is created over HTTP by the test and put in
// that origin's localStorage, so it runs without CORS on the HTTP API. The
// gateway lets the socket in only with GATEWAY_ALLOWED_ORIGINS.
func TestBrowserCrossOriginSocket(t *testing.T) {
	chromium := chromiumPath(t)
	mux := http.NewServeMux()
	web.Register(mux)
	site := httptest.NewServer(mux) // another port: another origin
	t.Cleanup(site.Close)

	for _, tc := range []struct {
		name    string
		origins string
		wantIn  bool
	}{
		{"allowed", "127.0.0.1:*", true},
		{"not allowed", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := startGateway(t, map[string]string{"GATEWAY_ALLOWED_ORIGINS": tc.origins})
			res := g.do(t, "POST", "/session", nil)
			if res.status != http.StatusCreated {
				t.Fatalf("POST /session = %d %s", res.status, res.body)
			}
			var s pageSession
			if err := json.Unmarshal([]byte(res.body), &s); err != nil {
				t.Fatal(err)
			}

			tab := newProfile(t, chromium)
			// Any page of the site's origin will do to write its localStorage.
			do(t, tab, "open the site", chromedp.Navigate(site.URL+"/assets/client.js"))
			eval[bool](t, tab, `localStorage.setItem("bigtwo.session:" + `+jsString(g.url)+`,
				JSON.stringify(Object.assign(`+res.body+`, {received_at: Date.now()}))); true`)
			pageURL := site.URL + "/?gateway=" + url.QueryEscape(g.url)
			if tc.wantIn {
				if name := openDemo(t, tab, pageURL); name != s.Username {
					t.Fatalf("cross-origin page shows %q, want the stored player %q", name, s.Username)
				}
				return
			}
			do(t, tab, "open "+pageURL, chromedp.Navigate(pageURL))
			eval[bool](t, tab, pageHelpers)
			waitFor(t, tab, "the refused socket", `demo.client.stats.welcomes === 0 && byTestID("status").textContent.includes("retrying")`)
		})
	}
}

func TestBrowserSurvivesRestartWithPostgres(t *testing.T) {
	chromium := chromiumPath(t)
	dbURL := pgtest.Schema(t)
	env := map[string]string{
		"GATEWAY_DATABASE_URL": dbURL,
		"GATEWAY_JWT_SECRET":   "browser-test-secret-0123456789abcdef-0123456789",
	}
	g1 := startGateway(t, env)
	tab := newProfile(t, chromium)
	openDemo(t, tab, g1.url+"/")
	before := sessionOf(t, tab)

	u, err := url.Parse(g1.url)
	if err != nil {
		t.Fatal(err)
	}
	if err := g1.stop(); err != nil {
		t.Fatalf("stop the first gateway: %v", err)
	}
	waitFor(t, tab, "the page notices", `!connected()`)

	env2 := map[string]string{"GATEWAY_ADDR": u.Host}
	for k, v := range env {
		env2[k] = v
	}
	startGateway(t, env2)
	waitFor(t, tab, "reconnected", `connected() && demo.client.stats.welcomes >= 2`)
	if after := sessionOf(t, tab); after != before {
		t.Fatalf("after the restart the page is %+v, want the same player and session %+v", after, before)
	}
}

// TestBrowserNewSessionReachesLoggedOutTab: after a logout every tab of the
// browser is logged out; a new session started in one of them is picked up
// by the others, which connect with it.
func TestBrowserNewSessionReachesLoggedOutTab(t *testing.T) {
	chromium := chromiumPath(t)
	g := startGateway(t, nil)
	tabA := newProfile(t, chromium)
	oldName := openDemo(t, tabA, g.url+"/")
	tabB := newTab(t, tabA)
	openDemo(t, tabB, g.url+"/")

	do(t, tabA, "log out", chromedp.Click(tid("menu")), chromedp.Click(tid("logout")))
	for _, tab := range []context.Context{tabA, tabB} {
		waitFor(t, tab, "logged out", `demo.client.state === "logged_out" && byTestID("status").textContent.includes("logged out")`)
	}

	do(t, tabA, "start a new session", chromedp.Click(tid("login")))
	waitFor(t, tabA, "tab A connected again", `connected()`)
	newName := eval[string](t, tabA, `byTestID("username").textContent`)
	if newName == oldName {
		t.Fatalf("the new session has the old player %q", oldName)
	}
	waitFor(t, tabB, "tab B connected with the new session",
		`connected() && byTestID("username").textContent === `+jsString(newName))
	if a, b := sessionOf(t, tabA), sessionOf(t, tabB); a != b {
		t.Fatalf("tab A has %+v, tab B %+v: want the same session", a, b)
	}
}

// TestBrowserDocExample runs the usage example of docs/CLIENT.md as it is
// written, as a module script of a page of the gateway's origin.
func TestBrowserDocExample(t *testing.T) {
	chromium := chromiumPath(t)
	doc, err := os.ReadFile("../../docs/CLIENT.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Usage\n\n```html\n<script type=\"module\">\n(.*?)</script>\n```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/CLIENT.md has no ```html <script type=\"module\"> example under ## Usage")
	}
	g := startGateway(t, nil)
	tab := newProfile(t, chromium)
	// Any page of the gateway's origin will do: this one has no client of its
	// own, and no Content-Security-Policy to refuse the inline module.
	do(t, tab, "open a page of the gateway", chromedp.Navigate(g.url+"/healthz"))
	eval[bool](t, tab, `
		window.logged = [];
		window.failures = [];
		const log = console.log;
		console.log = (...args) => { logged.push(args.join(" ")); log(...args); };
		addEventListener("error", (e) => failures.push(String(e.message)));
		addEventListener("unhandledrejection", (e) => failures.push(String(e.reason)));
		const s = document.createElement("script");
		s.type = "module";
		s.textContent = `+jsString(string(m[1])+"\nconsole.log(\"example done\");\n")+`;
		document.head.append(s);
		true`)
	waitFor(t, tab, "the example to finish", `logged.includes("example done") || failures.length > 0`)
	if f := eval[[]string](t, tab, `failures`); len(f) > 0 {
		t.Fatalf("the example failed: %q\nlogged: %q", f, eval[[]string](t, tab, `logged`))
	}
	logged := eval[[]string](t, tab, `logged`)
	want := []*regexp.Regexp{
		regexp.MustCompile(`^state connected`),
		regexp.MustCompile(`^playing as [a-z]+-`),
		regexp.MustCompile(`: hello$`),
		regexp.MustCompile(`^[a-z]+-[a-z0-9-]+ sees 1 rooms and has 1 sessions$`),
		regexp.MustCompile(`^refused: not_in_room$`),
	}
	for _, re := range want {
		found := false
		for _, l := range logged {
			found = found || re.MatchString(l)
		}
		if !found {
			t.Errorf("the example logged no line matching %s; it logged %q", re, logged)
		}
	}
}

// TestBrowserPingOnWake: coming back online checks the open socket with an
// application ping, which keeps it.
func TestBrowserPingOnWake(t *testing.T) {
	chromium := chromiumPath(t)
	g := startGateway(t, nil)
	tab := newProfile(t, chromium)
	openDemo(t, tab, g.url+"/")
	eval[bool](t, tab, `dispatchEvent(new Event("online")); true`)
	waitFor(t, tab, "a ping answered", `demo.client.stats.pings === 1 && [...byTestID("events").children].length > 0`)
	// The server answers request("ping") with its pong; a second wake pings again.
	eval[bool](t, tab, `window.reply = ""; demo.client.request("ping").then(f => { reply = f.type; }); true`)
	waitFor(t, tab, "the reply to a ping", `reply === "pong"`)
	eval[bool](t, tab, `dispatchEvent(new Event("online")); true`)
	waitFor(t, tab, "a second ping", `demo.client.stats.pings === 2`)
	if !eval[bool](t, tab, `connected() && demo.client.stats.welcomes === 1`) {
		t.Fatalf("the socket did not survive the pings: %s", pageSummary(tab))
	}
}

// TestBrowserFailedLogoutKeepsSession: a logout the server never heard of
// keeps the session and says so.
func TestBrowserFailedLogoutKeepsSession(t *testing.T) {
	chromium := chromiumPath(t)
	g := startGateway(t, nil)
	tab := newProfile(t, chromium)
	openDemo(t, tab, g.url+"/")
	before := sessionOf(t, tab)
	if err := g.stop(); err != nil {
		t.Fatalf("stop the gateway: %v", err)
	}
	waitFor(t, tab, "the page notices", `!connected()`)

	do(t, tab, "log out", chromedp.Click(tid("menu")), chromedp.Click(tid("logout")))
	waitFor(t, tab, "the failure shown", `[...byTestID("events").children].some(li => li.textContent.includes("logout failed, still logged in"))`)
	if st := eval[string](t, tab, `demo.client.state`); st == "logged_out" {
		t.Fatalf("client state = %q after a failed logout", st)
	}
	if s := sessionOf(t, tab); s != before {
		t.Fatalf("after a failed logout the client has %+v, want %+v", s, before)
	}
	if id := eval[string](t, tab, storedSession+`.session_id`); id != before.SessionID {
		t.Fatalf("stored session %q after a failed logout, want %q", id, before.SessionID)
	}
}

// TestBrowserRefusedRoomNotRejoined: the demo rejoins after a reconnect only
// a room the server confirmed, not a name it refused.
func TestBrowserRefusedRoomNotRejoined(t *testing.T) {
	chromium := chromiumPath(t)
	g := startGateway(t, nil)
	tab := newProfile(t, chromium)
	openDemo(t, tab, g.url+"/console.html")
	const badRoomErrors = `[...byTestID("events").children].filter(li => li.textContent.includes("error bad_room")).length`

	// SetValue and a plain submit event get past the input's own validation.
	do(t, tab, "join a bad room", chromedp.SetValue(tid("room"), "no spaces allowed"))
	eval[bool](t, tab, `byTestID("join").closest("form").dispatchEvent(new Event("submit", {cancelable: true})); true`)
	waitFor(t, tab, "the bad_room error", badRoomErrors+` === 1`)

	eval[bool](t, tab, `demo.client.close(); demo.client.start(); true`)
	waitFor(t, tab, "connected again", `connected() && demo.client.stats.welcomes === 2`)
	// Frames are answered in order: once this reply is in, a rejoin's error would be too.
	eval[bool](t, tab, `window.reply = ""; demo.client.request("room.list").then(f => { reply = f.type; }); true`)
	waitFor(t, tab, "the room list", `reply === "room.list"`)
	if n := eval[int](t, tab, badRoomErrors); n != 1 {
		t.Fatalf("%d bad_room errors, want 1: the refused room was joined again after the reconnect\npage: %s", n, pageSummary(tab))
	}
	if got := eval[string](t, tab, `byTestID("current-room").textContent`); got != "(none)" {
		t.Fatalf("current room = %q, want (none)", got)
	}
}
