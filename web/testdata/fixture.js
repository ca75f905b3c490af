// fixture.js: the game page on a fake gateway, for screenshots and for
// trying the page without a server. Served by serve.js as
// /testdata/fixture.html (index.html with this script instead of main.js):
//
//   /testdata/fixture.html?f=follow   a fixture of fixtures.js, as it looks
//   /testdata/fixture.html            a live game against bots (fake server;
//                                     ?bot=ms between bot moves, ?turn=ms per turn)
//   &menu                              with the menu open
//
// When the page is ready, <body data-fixture-ready="true">.
import { mountGame } from "../assets/game.js";
import { FakeClient } from "./fake-gateway.js";
import { ME, fixtures } from "./fixtures.js";

const params = new URLSearchParams(location.search);
const name = params.get("f");
const fixture = name ? fixtures[name] : null;
if (name && !fixture) throw new Error(`no fixture ${name}: one of ${Object.keys(fixtures).join(", ")}`);

sessionStorage.clear();
if (fixture?.table) {
  sessionStorage.setItem("bigtwo.view", JSON.stringify({ table: fixture.table, mode: name === "watching" ? "watching" : "seated" }));
}
const client = new FakeClient({
  me: ME,
  fixture,
  turnTimeout: Number(params.get("turn") || 30000),
  botDelay: Number(params.get("bot") || 700),
});
const game = mountGame(client);
Object.assign(globalThis, { demo: { client, game } });
await client.start();
await new Promise((r) => setTimeout(r, 150));
if (fixture?.selected) game.select(fixture.selected);
if (fixture?.notice) await game.play();
if (params.has("menu")) /** @type {HTMLElement} */ (document.querySelector('[data-testid="menu"]')).click();
document.body.dataset.fixtureReady = "true";
