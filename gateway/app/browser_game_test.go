package app

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/bigtwo/gateway/gateway/room/bigtwo"
)

// Tests of the game page at "/" in real headless Chromium against the real
// gateway and its Big Two tables, played as a person would: the test reads
// the hand and the trick from the page, picks a move with the server's own
// bot logic and clicks the cards and the buttons.

// gameHelpers are defined in the game page by openGame, next to pageHelpers.
const gameHelpers = `
window.cardsIn = (id) => [...byTestID(id).querySelectorAll("[data-card]")].map(e => e.dataset.card);
window.tableSnap = () => ({
	atTable: !byTestID("table").hidden,
	hand: cardsIn("hand"),
	selected: [...byTestID("hand").querySelectorAll('[aria-pressed="true"]')].map(e => e.dataset.card),
	trick: cardsIn("trick-cards"),
	myTurn: byTestID("turn").dataset.mine === "true",
	turnSeat: byTestID("turn").dataset.seat ?? "",
	deadline: byTestID("turn").dataset.deadline ?? "",
	seat: byTestID("seat-me").dataset.seat ?? "",
	result: !byTestID("result").hidden,
	notice: byTestID("notice").hidden ? "" : byTestID("notice").textContent,
	turnText: byTestID("turn").textContent,
});
// myMove: the result shows, or it is the player's turn at a state other
// than the one of deadline last (the turn a move was last made at), with
// the hand there.
window.myMove = (last) => {
	const s = tableSnap();
	return s.result || (s.myTurn && s.deadline !== last && s.hand.length > 0);
};
window.chatLines = (id) => [...byTestID(id).children].map(li =>
	[li.querySelector(".from")?.textContent ?? "", li.querySelector(".text")?.textContent ?? ""]);
true`

// openGame opens the game page at pageURL in tab, waits until it is
// connected and returns the player's username.
func openGame(t *testing.T, tab context.Context, pageURL string) string {
	t.Helper()
	name := openDemo(t, tab, pageURL)
	eval[bool](t, tab, gameHelpers)
	return name
}

// reloadGame reloads the game page and defines the helpers again; it does
// nothing else on the page.
func reloadGame(t *testing.T, tab context.Context) {
	t.Helper()
	do(t, tab, "reload", chromedp.Reload())
	eval[bool](t, tab, pageHelpers)
	eval[bool](t, tab, gameHelpers)
}

// newIncognito opens a tab in a new browser context of ctx's browser: its
// own cookies and storage, so another player. It closes at cleanup.
func newIncognito(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open a browser context: %v", err)
	}
	return tab
}

// tableSnap is what the table shows, as tableSnap() reads it.
type tableSnap struct {
	AtTable  bool     `json:"atTable"`
	Hand     []string `json:"hand"`
	Selected []string `json:"selected"`
	Trick    []string `json:"trick"`
	MyTurn   bool     `json:"myTurn"`
	TurnSeat string   `json:"turnSeat"`
	Deadline string   `json:"deadline"`
	Seat     string   `json:"seat"`
	Result   bool     `json:"result"`
	Notice   string   `json:"notice"`
	TurnText string   `json:"turnText"`
}

func snapOf(t *testing.T, tab context.Context) tableSnap {
	t.Helper()
	return eval[tableSnap](t, tab, `tableSnap()`)
}

// botMove is the server's bot move for what the page shows (the player's
// hand and the trick on the table), as card codes, or nil for a pass.
func botMove(t *testing.T, s tableSnap) []string {
	t.Helper()
	hand, err := bigtwo.ParseCards(s.Hand)
	if err != nil {
		t.Fatalf("the page's hand %q: %v", s.Hand, err)
	}
	g := bigtwo.NewGame([bigtwo.Seats][]bigtwo.Card{hand}, false, 0)
	if len(s.Trick) > 0 {
		cur, err := bigtwo.ParseCards(s.Trick)
		if err != nil {
			t.Fatalf("the page's trick %q: %v", s.Trick, err)
		}
		p, ok := bigtwo.Classify(cur)
		if !ok {
			t.Fatalf("the page's trick %q is no combination", s.Trick)
		}
		g.Current = &bigtwo.Trick{Seat: 1, Cards: cur, Combo: p.Combo}
	}
	var codes []string
	for _, c := range g.BotMove(0) {
		codes = append(codes, c.String())
	}
	return codes
}

// lowSingle is a card of the hand that, played alone, does not beat the
// trick: any card against two or more, a lower card against a single. It
// returns "" when there is none (or no trick).
func lowSingle(t *testing.T, s tableSnap) string {
	t.Helper()
	if len(s.Trick) == 0 {
		return ""
	}
	if len(s.Trick) > 1 {
		return s.Hand[0]
	}
	top, err := bigtwo.ParseCard(s.Trick[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range s.Hand {
		if c, err := bigtwo.ParseCard(code); err == nil && c < top {
			return code
		}
	}
	return ""
}

// handCard selects the card code of the hand.
func handCard(code string) chromedp.CSS {
	return chromedp.CSS(`[data-testid="hand"] button[data-card="` + code + `"]`)
}

// press is a click on sel, or a tap where the page emulates a touch
// screen (a phone's viewport in checkLayout), as the player would: after
// scrolling it to the middle of the screen, as the player would too (where
// it is, it may be under the sticky header, and a click there would hit
// the header).
func press(t *testing.T, tab context.Context, sel chromedp.CSS) chromedp.Action[chromedp.Void] {
	t.Helper()
	return presser(t, tab)(sel)
}

// presser returns press for the tab as it is now.
func presser(t *testing.T, tab context.Context) func(chromedp.CSS) chromedp.Action[chromedp.Void] {
	t.Helper()
	touch := eval[bool](t, tab, `navigator.maxTouchPoints > 0`)
	return func(sel chromedp.CSS) chromedp.Action[chromedp.Void] {
		centre := chromedp.Evaluate[bool](`document.querySelector(` + jsString(string(sel)) + `)?.scrollIntoView({block: "center"}), true`)
		hit := chromedp.Click(sel)
		if touch {
			hit = chromedp.Tap(sel)
		}
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			if _, err := centre(ctx, tg); err != nil {
				return chromedp.Void{}, err
			}
			return hit(ctx, tg)
		}
	}
}

// selectCards presses the cards of the hand until exactly cards are
// selected.
func selectCards(t *testing.T, tab context.Context, s tableSnap, cards []string) {
	t.Helper()
	press := presser(t, tab)
	var presses []chromedp.Action[chromedp.Void]
	for _, c := range s.Hand {
		if slices.Contains(cards, c) != slices.Contains(s.Selected, c) {
			presses = append(presses, press(handCard(c)))
		}
	}
	do(t, tab, fmt.Sprintf("select %v", cards), presses...)
	want := slices.Clone(cards)
	slices.Sort(want)
	waitFor(t, tab, fmt.Sprintf("%v selected", cards),
		`JSON.stringify(tableSnap().selected.sort()) === `+jsString(mustJSON(want)))
}

func mustJSON(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	return `["` + strings.Join(v, `","`) + `"]`
}

// move makes the player's move at the state s by pressing: the cards, then
// Play; or Pass when cards is empty. It waits until the move is taken
// (another state, or the result), and fails if the page shows a notice.
func move(t *testing.T, tab context.Context, s tableSnap, cards []string) {
	t.Helper()
	if len(cards) == 0 {
		waitFor(t, tab, "Pass enabled", `!byTestID("pass").disabled`)
		do(t, tab, "pass", press(t, tab, tid("pass")))
	} else {
		selectCards(t, tab, s, cards)
		waitFor(t, tab, "Play enabled", `!byTestID("play").disabled`)
		do(t, tab, fmt.Sprintf("play %v", cards), press(t, tab, tid("play")))
	}
	waitFor(t, tab, "the move taken", `(() => { const s = tableSnap();
		return s.result || s.deadline !== `+jsString(s.Deadline)+` || s.notice !== ""; })()`)
	if n := snapOf(t, tab).Notice; n != "" {
		t.Fatalf("move %v at hand %v, trick %v: the page says %q", cards, s.Hand, s.Trick, n)
	}
}

// playHand plays the player's turns of the hand shown, by presses, until
// the result shows; bots (or other players, moved by someone else) play
// the other seats. It returns the number of moves made.
func playHand(t *testing.T, tab context.Context) int {
	t.Helper()
	last := ""
	for moves := 0; ; moves++ {
		if moves > 100 {
			t.Fatalf("no result after %d moves: %+v", moves, snapOf(t, tab))
		}
		waitFor(t, tab, "the player's turn or the result", `myMove(`+jsString(last)+`)`)
		s := snapOf(t, tab)
		if s.Result {
			return moves
		}
		move(t, tab, s, botMove(t, s))
		last = s.Deadline
	}
}

// TestBrowserPlayNowWithBots: a player presses Play now and plays a whole
// hand against three bots by clicking cards, Play and Pass, sees the result
// and deals again.
func TestBrowserPlayNowWithBots(t *testing.T) {
	chromium := chromiumPath(t)
	g := startGateway(t, nil)
	tab := newProfile(t, chromium)
	name := openGame(t, tab, g.url+"/")

	waitFor(t, tab, "Play now enabled", `!byTestID("play-now").disabled`)
	do(t, tab, "press Play now", press(t, tab, tid("play-now")))
	waitFor(t, tab, "dealt", `tableSnap().atTable && tableSnap().hand.length === 13`)
	if got := eval[string](t, tab, `byTestID("table-title").textContent`); got != name {
		t.Errorf("Play now sat at table %q, want the one named after the player, %q", got, name)
	}
	if n := eval[int](t, tab, `document.querySelectorAll(".felt .badge-bot").length`); n != 3 {
		t.Errorf("%d bot badges round the felt, want 3", n)
	}

	moves := playHand(t, tab)
	title := eval[string](t, tab, `byTestID("result-title").textContent`)
	rows := eval[[]string](t, tab, `[...byTestID("result-rows").children].map(li => li.textContent)`)
	t.Logf("after %d moves by presses: %q %q", moves, title, rows)
	if moves == 0 || len(rows) != 4 || !strings.Contains(title, "won the hand") {
		t.Fatalf("result %q with rows %q after %d moves, want who won and four rows", title, rows, moves)
	}
	if !eval[bool](t, tab, `[...byTestID("result-rows").children].some(li => li.textContent.startsWith(`+jsString(name+" (you)")+`))`) {
		t.Errorf("no result row for the player %q: %q", name, rows)
	}

	waitFor(t, tab, "Deal again", `byTestID("deal").textContent === "Deal again" && !byTestID("deal").disabled`)
	do(t, tab, "deal again", press(t, tab, tid("deal")))
	waitFor(t, tab, "the second hand", `!tableSnap().result && tableSnap().hand.length === 13 && byTestID("hand-no").textContent.includes("hand 2")`)
	// The winner of the first hand leads the second: a bot has led, or it is the player's turn.
	waitFor(t, tab, "the second hand going", `myMove("")`)
}

// TestBrowserFourPlayers: four browser profiles sit at a named table, chat,
// and play each other by clicking; a refused play says why in words; a
// profile that reloads mid-hand is back in its seat with its hand without
// doing anything.
func TestBrowserFourPlayers(t *testing.T) {
	chromium := chromiumPath(t)
	g := startGateway(t, nil)
	first := newProfile(t, chromium)
	tabs := []context.Context{first, newIncognito(t, first), newIncognito(t, first), newIncognito(t, first)}
	names := make([]string, len(tabs))
	for i, tab := range tabs {
		names[i] = openGame(t, tab, g.url+"/")
	}
	if len(slices.Compact(slices.Sorted(slices.Values(names)))) != len(names) {
		t.Fatalf("the four profiles are not four players: %q", names)
	}

	const table = "friday-night"
	for i, tab := range tabs {
		do(t, tab, "sit at "+table,
			chromedp.SetValue(tid("table-name"), table),
			press(t, tab, tid("sit")))
		waitFor(t, tab, "seated", `tableSnap().atTable && tableSnap().seat === "`+strconv.Itoa(i)+`"`)
	}
	// Each sees the others round the table from their own seat: left is
	// the next seat, then across, then right.
	for i, tab := range tabs {
		for k, pos := range []string{"left", "across", "right"} {
			other := names[(i+k+1)%4]
			waitFor(t, tab, fmt.Sprintf("%s %s of %s", other, pos, names[i]),
				`byTestID("seat-`+pos+`").querySelector('[data-testid="seat-name"]')?.textContent === `+jsString(other))
		}
	}

	// The table's chat.
	tableSay(t, tabs[1], "hello table")
	for _, tab := range tabs {
		waitFor(t, tab, "the table chat", `chatLines("table-log").some(([f, x]) => f === `+jsString(names[1])+` && x === "hello table")`)
	}

	// Four players: no bots.
	do(t, tabs[0], "deal without bots", press(t, tabs[0], tid("bots")))
	if eval[bool](t, tabs[0], `byTestID("bots").checked`) {
		t.Fatal("the bots box is still checked")
	}
	do(t, tabs[0], "deal", press(t, tabs[0], tid("deal")))
	for _, tab := range tabs {
		waitFor(t, tab, "dealt", `tableSnap().hand.length === 13 && tableSnap().turnSeat !== ""`)
	}
	if n := eval[int](t, tabs[0], `document.querySelectorAll(".badge-bot").length`); n != 0 {
		t.Fatalf("%d bot badges at a table of four players", n)
	}
	// Four players' names round the felt of a small phone, where this
	// player goes on by tapping.
	checkLayout(t, tabs[0], screenshotDir(t), "6-four-players", "body", viewports[1])

	var refused, reloaded bool
	last := ""
	for turn := 0; ; turn++ {
		if turn > 250 {
			t.Fatalf("no result after %d turns", turn)
		}
		// Anyone's page says whose turn it is next.
		waitFor(t, tabs[0], "the next turn", `tableSnap().result || tableSnap().deadline !== `+jsString(last))
		now := snapOf(t, tabs[0])
		if now.Result {
			t.Logf("the hand ended after %d turns", turn)
			break
		}
		seat, err := strconv.Atoi(now.TurnSeat)
		if err != nil {
			t.Fatal(err)
		}
		deadline := now.Deadline
		actor := tabs[seat]

		if !reloaded && turn >= 3 {
			reloaded = true
			r := (seat + 2) % 4
			before := snapOf(t, tabs[r])
			reloadGame(t, tabs[r])
			waitFor(t, tabs[r], names[r]+"'s seat and hand back after the reload", `connected() && (() => { const s = tableSnap();
				return s.atTable && s.seat === `+jsString(before.Seat)+` && s.deadline === `+jsString(deadline)+` &&
					JSON.stringify(s.hand) === `+jsString(mustJSON(before.Hand))+`; })()`)
			// Back for everyone: no one shows away, and the table chat works again.
			waitFor(t, tabs[seat], names[r]+" not away", `document.querySelectorAll(".badge-away").length === 0`)
			tableSay(t, tabs[r], "back again")
			for _, tab := range tabs {
				waitFor(t, tab, "the chat after the reload", `chatLines("table-log").some(([f, x]) => f === `+jsString(names[r])+` && x === "back again")`)
			}
		}

		waitFor(t, actor, names[seat]+"'s turn", `(() => { const s = tableSnap();
			return s.myTurn && s.deadline === `+jsString(deadline)+` && s.hand.length > 0; })()`)
		s := snapOf(t, actor)
		if low := lowSingle(t, s); !refused && low != "" {
			refused = true
			selectCards(t, actor, s, []string{low})
			waitFor(t, actor, "Play enabled", `!byTestID("play").disabled`)
			do(t, actor, "play "+low+" on "+strings.Join(s.Trick, " "), press(t, actor, tid("play")))
			const want = "That does not beat the cards on the table: play as many cards, higher."
			waitFor(t, actor, "the refusal in words", `tableSnap().notice === `+jsString(want))
			if got := snapOf(t, actor); !got.MyTurn || got.Deadline != deadline || len(got.Hand) != len(s.Hand) {
				t.Fatalf("after a refused play the page shows %+v, want the same turn and hand", got)
			}
			for i, tab := range tabs {
				if n := snapOf(t, tab).Notice; i != seat && n != "" {
					t.Errorf("%s sees the notice %q of another player's refused play", names[i], n)
				}
			}
			s = snapOf(t, actor)
		}
		move(t, actor, s, botMove(t, s))
		last = deadline
	}
	if !refused || !reloaded {
		t.Fatalf("the hand ended before a refused play (%v) and a reload (%v)", refused, reloaded)
	}
	for i, tab := range tabs {
		waitFor(t, tab, "the result at "+names[i], `tableSnap().result && byTestID("result-rows").children.length === 4`)
	}
}

// tableSay sends text to the table's chat through the page's form.
func tableSay(t *testing.T, tab context.Context, text string) {
	t.Helper()
	waitFor(t, tab, "the table chat open", `!byTestID("table-send").disabled`)
	do(t, tab, "say "+text, chromedp.SendKeys(tid("table-input"), text), press(t, tab, tid("table-send")))
}

// layoutProblems lists, for the page as shown, a horizontal scroll and the
// visible controls under the elements that scope selects that are off
// screen, covered by something else, or too narrow for their text.
const layoutProblems = `(scope) => {
	const de = document.documentElement;
	const out = [];
	if (de.scrollWidth > de.clientWidth) out.push("horizontal scroll: scrollWidth " + de.scrollWidth + " > clientWidth " + de.clientWidth);
	const x = scrollX, y = scrollY;
	const controls = [...document.querySelectorAll(scope)].flatMap(root => [...root.querySelectorAll("button, input, a, summary, select, textarea")]);
	for (const el of controls) {
		if (!el.checkVisibility({visibilityProperty: true})) continue;
		const name = el.dataset.testid || el.dataset.card || el.dataset.action || el.textContent.trim().slice(0, 30) || el.tagName;
		const r = el.getBoundingClientRect();
		if (r.width < 1 || r.height < 1) { out.push(name + " has no size"); continue; }
		if (r.left < -0.5 || r.right > de.clientWidth + 0.5) out.push(name + " is off screen: " + Math.round(r.left) + ".." + Math.round(r.right) + " of " + de.clientWidth);
		if (el.tagName === "BUTTON" && el.scrollWidth > el.clientWidth + 1) out.push(name + " is too narrow for its text: " + el.scrollWidth + " > " + el.clientWidth);
		el.scrollIntoView({block: "center", inline: "nearest"});
		const c = el.getBoundingClientRect();
		const hit = document.elementFromPoint(c.left + c.width / 2, c.top + c.height / 2);
		if (!hit || !(el === hit || el.contains(hit) || (el.labels && [...el.labels].some(l => l.contains(hit))))) {
			out.push(name + " is covered by " + (hit ? hit.outerHTML.slice(0, 80) : "nothing"));
		}
	}
	scrollTo(x, y);
	return out;
}`

type viewport struct {
	name   string
	w, h   int64
	mobile bool
}

var viewports = []viewport{
	{"phone-390x844", 390, 844, true},
	{"phone-360x740", 360, 740, true},
	{"desktop-1280x800", 1280, 800, false},
}

// screenshotDir is where the layout test writes its screenshots:
// $GATEWAY_TEST_SCREENSHOTS, or a new temporary directory that is kept.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GATEWAY_TEST_SCREENSHOTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "bigtwo-screenshots-"); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// checkLayout sets the viewport vp, checks the page has no horizontal
// scroll and every visible control under scope (a CSS selector) on screen,
// and writes a full-page screenshot dir/<what>-<vp>.png.
func checkLayout(t *testing.T, tab context.Context, dir, what, scope string, vp viewport) {
	t.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulatePortrait}
	if vp.mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	do(t, tab, "viewport "+vp.name, chromedp.EmulateViewport(vp.w, vp.h, opts...))
	waitFor(t, tab, "the viewport at "+vp.name, `document.documentElement.clientWidth === `+strconv.FormatInt(vp.w, 10))
	for _, p := range eval[[]string](t, tab, `(`+layoutProblems+`)(`+jsString(scope)+`)`) {
		t.Errorf("%s at %s: %s", what, vp.name, p)
	}
	// From the top: a full-page screenshot of a scrolled page draws the
	// sticky header where the viewport was.
	eval[bool](t, tab, `scrollTo(0, 0); true`)
	ctx, cancel := context.WithTimeout(tab, browserWait)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s at %s: %v", what, vp.name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, what+"-"+vp.name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserLayout: at phone and desktop sizes the lobby, the menu, the
// table during a hand and the result fit the width with every control on
// screen. Screenshots of each go to the directory the log names.
func TestBrowserLayout(t *testing.T) {
	chromium := chromiumPath(t)
	g := startGateway(t, nil)
	dir := screenshotDir(t)
	tab := newProfile(t, chromium)
	openGame(t, tab, g.url+"/")
	// A long word and a long line in the chat must wrap, not widen the page.
	do(t, tab, "say something long",
		chromedp.SendKeys(tid("lobby-input"), "Whoever-holds-the-three-of-diamonds-leads-the-first-trick-of-the-first-hand"),
		chromedp.Click(tid("lobby-send")))
	waitFor(t, tab, "the chat line", `chatLines("lobby-log").length === 1`)

	for _, vp := range viewports {
		checkLayout(t, tab, dir, "1-lobby", "body", vp)
	}
	do(t, tab, "open the menu", chromedp.Click(tid("menu")))
	waitFor(t, tab, "the menu and its sessions", `!byTestID("menu-panel").hidden && byTestID("sessions").children.length === 1`)
	for _, vp := range viewports {
		checkLayout(t, tab, dir, "2-menu", "header, #menu", vp) // the menu covers the page
	}
	do(t, tab, "close the menu", chromedp.Click(tid("menu")))
	waitFor(t, tab, "the menu closed", `byTestID("menu-panel").hidden`)

	do(t, tab, "press Play now", press(t, tab, tid("play-now")))
	waitFor(t, tab, "dealt", `tableSnap().atTable && tableSnap().hand.length === 13`)
	tableSay(t, tab, "good luck, bots")
	// The player's turn, with two cards selected: the raised cards and the enabled Play show.
	waitFor(t, tab, "the player's turn", `myMove("")`)
	s := snapOf(t, tab)
	selectCards(t, tab, s, s.Hand[:2])
	for _, vp := range viewports {
		checkLayout(t, tab, dir, "3-table", "body", vp)
	}
	selectCards(t, tab, snapOf(t, tab), nil)

	playHand(t, tab)
	for _, vp := range viewports {
		checkLayout(t, tab, dir, "4-result", "body", vp)
	}
	do(t, tab, "back to the lobby", press(t, tab, tid("back")))
	waitFor(t, tab, "the lobby lists the table", `!byTestID("lobby").hidden && byTestID("tables").querySelector('[data-action="back-to"]') !== null`)
	for _, vp := range viewports {
		checkLayout(t, tab, dir, "5-lobby-with-table", "body", vp)
	}
}

// TestBrowserChatIsText: chat text that looks like HTML shows as text on
// the game page and the console, and runs nothing; every page carries the
// Content-Security-Policy, which refuses an injected inline script.
func TestBrowserChatIsText(t *testing.T) {
	chromium := chromiumPath(t)
	g := startGateway(t, nil)

	for _, page := range []string{"/", "/console.html"} {
		res, err := http.Get(g.url + page)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self';", "frame-ancestors 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: Content-Security-Policy %q lacks %q", page, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: Content-Security-Policy %q allows unsafe code", page, csp)
		}
		if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options = %q, want nosniff", page, got)
		}
	}

	alice := newProfile(t, chromium)
	bob := newIncognito(t, alice)
	carol := newIncognito(t, alice) // on the developer console
	ctx, cancel := context.WithTimeout(alice, browserWait)
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(g.url+"/"))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if csp, _ := res.Headers["Content-Security-Policy"].(string); !strings.Contains(csp, "script-src 'self';") {
		t.Errorf("the browser got / with Content-Security-Policy %q", csp)
	}
	aliceName := openGame(t, alice, g.url+"/")
	openGame(t, bob, g.url+"/")
	openDemo(t, carol, g.url+"/console.html")
	joinRoom(t, carol, "lobby")
	for _, tab := range []context.Context{alice, bob} {
		waitFor(t, tab, "in the lobby chat", `!byTestID("lobby-send").disabled`)
	}

	const evil = `<img src=x onerror="window.pwned=1"><script>window.pwned=2</script><b>bold</b>`
	do(t, alice, "say HTML", chromedp.SendKeys(tid("lobby-input"), evil), chromedp.Click(tid("lobby-send")))
	for _, tab := range []context.Context{alice, bob} {
		waitFor(t, tab, "the line as text", `chatLines("lobby-log").some(([f, x]) => f === `+jsString(aliceName)+` && x === `+jsString(evil)+`)`)
	}
	waitFor(t, carol, "the line as text on the console", `chatHas(`+jsString(aliceName)+`, `+jsString(evil)+`)`)
	for _, tab := range []context.Context{alice, bob, carol} {
		if got := eval[string](t, tab, `typeof window.pwned`); got != "undefined" {
			t.Errorf("window.pwned is %s: the chat line ran", got)
		}
		if n := eval[int](t, tab, `document.querySelectorAll("main img, main script:not([src]), main b").length`); n != 0 {
			t.Errorf("%d elements made from the chat line", n)
		}
	}

	// The policy is enforced: an inline script put in the page does not run.
	eval[bool](t, bob, `window.violations = [];
		document.addEventListener("securitypolicyviolation", (e) => violations.push(e.violatedDirective));
		const s = document.createElement("script");
		s.textContent = "window.inlineRan = true";
		document.body.append(s);
		true`)
	waitFor(t, bob, "the refused inline script", `violations.some(d => d.startsWith("script-src"))`)
	if eval[bool](t, bob, `window.inlineRan === true`) {
		t.Error("an inline script ran despite the Content-Security-Policy")
	}
}
