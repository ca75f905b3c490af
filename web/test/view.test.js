import assert from "node:assert/strict";
import { test } from "node:test";

import { connectionView, lobbyTables, mySeat, playNowTables, secondsLeft, tableView, TABLE_NAME } from "../assets/view.js";
import { ME, fixtures } from "../testdata/fixtures.js";

/**
 * viewOf replays a fixture's frames as the page keeps them (the latest
 * game.state, game.hand and game.over of its table) and returns the view.
 * @param {string} name
 * @param {{selected?: string[], busy?: boolean, now?: number}} [opts]
 */
function viewOf(name, opts = {}) {
  const f = fixtures[name];
  /** @type {any} */
  let state = null;
  /** @type {any} */
  let hand = null;
  /** @type {any} */
  let over = null;
  /** @type {any} */
  let overState = null;
  for (const fr of /** @type {any[]} */ (f.frames)) {
    if (fr.type === "game.state") {
      state = fr.data;
      if (state.status === "playing") over = overState = null;
    }
    if (fr.type === "game.hand") hand = fr.data.cards;
    if (fr.type === "game.over") {
      over = fr.data;
      overState = state; // as game.js keeps it: the seats the hand was played by
    }
  }
  assert.ok(state, `fixture ${name} has no game.state`);
  return tableView({
    state,
    hand,
    over,
    overState,
    me: ME.player_id,
    selected: new Set(opts.selected ?? f.selected ?? []),
    now: opts.now ?? Date.now(),
    busy: opts.busy ?? false,
  });
}

test("seats are laid out from the player's seat: me, left, across, right", () => {
  const v = viewOf("waiting-for-deal"); // the player sits at seat 1
  assert.equal(v.mySeat, 1);
  assert.deepEqual(
    v.seats.map((s) => [s.pos, s.seat]),
    [
      ["me", 1],
      ["left", 2],
      ["across", 3],
      ["right", 0],
    ],
  );
  assert.deepEqual(v.seats[0].badges, ["you"]);
  assert.equal(v.seats[1].name, "Empty seat");
  assert.equal(v.seats[1].empty, true);
  assert.equal(v.seats[3].name, "quick-fox-12");
});

test("a watcher sees seat 0 at the bottom and can sit, not play", () => {
  const v = viewOf("watching");
  assert.equal(v.mySeat, null);
  assert.equal(v.seats[0].seat, 0);
  assert.equal(v.canPlay || v.canPass || v.canDeal || v.canStand, false);
  assert.equal(v.canSit, false, "no sitting down while a hand is played");
  assert.equal(v.hand.length, 0);
  assert.equal(v.trick?.name, "Three 4s");
});

test("first lead: Play with a card selected, no Pass on lead", () => {
  const v = viewOf("first-lead");
  assert.equal(v.myTurn, true);
  assert.equal(v.canPlay, true);
  assert.equal(v.canPass, false, "cannot pass on lead");
  assert.match(v.turnText, /^Your turn: lead with the 3♦ · \d+ s$/);
  assert.equal(v.selectionText, "3♦");
  assert.equal(v.trick, null);
  assert.equal(v.center, "You lead");
  assert.deepEqual(
    v.hand.filter((c) => c.selected).map((c) => c.card),
    ["3D"],
  );
});

test("nothing selected, or a request in flight: no Play", () => {
  assert.equal(viewOf("first-lead", { selected: [] }).canPlay, false);
  const busy = viewOf("follow", { busy: true });
  assert.equal(busy.canPlay || busy.canPass, false);
});

test("following: Play and Pass, and what the selection is", () => {
  const v = viewOf("follow");
  assert.equal(v.canPlay, true);
  assert.equal(v.canPass, true);
  assert.equal(v.selectionText, "Pair of 8s");
  assert.deepEqual(v.trick && { name: v.trick.name, by: v.trick.by, cards: v.trick.cards.map((c) => c.label) }, {
    name: "Pair of 6s",
    by: "magnificent-salamander-9999",
    cards: ["6♦", "6♥"],
  });
  assert.equal(viewOf("follow", { selected: ["5S", "7H"] }).selectionText, "Not a combination");
  assert.equal(viewOf("follow", { selected: ["5S"] }).selectionText, "5♠ · does not beat the table");
  assert.equal(viewOf("follow", { selected: ["2D", "7H", "5S", "8D"] }).selectionText, "Four cards are no combination");
});

test("selected cards no longer in the hand are dropped", () => {
  const v = viewOf("follow", { selected: ["3D", "8D"] });
  assert.deepEqual(
    v.hand.filter((c) => c.selected).map((c) => c.card),
    ["8D"],
  );
});

test("someone else's turn: no Play, no Pass, the countdown", () => {
  const v = viewOf("waiting");
  assert.equal(v.myTurn || v.canPlay || v.canPass, false);
  assert.match(v.turnText, /^magnificent-salamander-9999's turn · 1[34] s$/);
  assert.deepEqual(v.seats.find((s) => s.turn)?.badges, ["to play"]);
  assert.equal(v.trick?.name, "K♦");
  assert.equal(v.trick?.by, "Bot 2");
});

test("away and bot badges", () => {
  const v = viewOf("refused");
  assert.deepEqual(
    v.seats.map((s) => s.badges),
    [["you", "to play"], ["bot"], ["away"], ["bot"]],
  );
  assert.equal(v.selectionText, "Straight to 9♠ · does not beat the table");
});

test("the result after game.over, then Deal again", () => {
  const v = viewOf("over");
  assert.equal(v.playing, false);
  assert.equal(v.canDeal, true);
  assert.equal(v.canPlay || v.canPass, false);
  assert.ok(v.result);
  assert.equal(v.result.title, "magnificent-salamander-9999 won the hand");
  assert.deepEqual(
    v.result.rows.map((r) => [r.name, r.left.length, r.penalty, r.score]),
    [
      ["brave-otter-4821", 6, 6, -6],
      ["Bot 2", 10, 20, -20],
      ["magnificent-salamander-9999", 0, 0, 29],
      ["Bot 4", 3, 3, -3],
    ],
  );
  assert.equal(v.result.rows[0].you, true);
  assert.equal(v.result.rows[2].winner, true);
  assert.deepEqual(
    v.seats.map((s) => [s.name, s.cardsText]),
    [
      ["brave-otter-4821", ""],
      ["Empty seat", ""],
      ["magnificent-salamander-9999", ""],
      ["Empty seat", ""],
    ],
    "after the hand: the bots' seats are free, no card counts",
  );
});

test("a bot playing the player's seat: not the player's turn to act", () => {
  const f = /** @type {any} */ (fixtures["first-lead"].frames.find((x) => x.type === "game.state"));
  const state = structuredClone(f.data);
  state.seats[0].bot = true;
  const v = tableView({ state, hand: ["3D"], over: null, me: ME.player_id, selected: new Set(["3D"]), now: Date.now(), busy: false });
  assert.equal(v.botPlaysForMe, true);
  assert.equal(v.canPlay, false);
  assert.match(v.turnText, /^brave-otter-4821's turn/);
});

test("mySeat and secondsLeft", () => {
  const f = /** @type {any} */ (fixtures.follow.frames.find((x) => x.type === "game.state"));
  assert.equal(mySeat(f.data, ME.player_id), 0);
  assert.equal(mySeat(f.data, "someone"), null);
  assert.equal(mySeat(null, ME.player_id), null);
  const t = Date.parse("2030-01-01T00:00:30Z");
  assert.equal(secondsLeft("2030-01-01T00:00:30Z", t - 29_001), 30);
  assert.equal(secondsLeft("2030-01-01T00:00:30Z", t - 29_000), 29);
  assert.equal(secondsLeft("2030-01-01T00:00:30Z", t + 5000), 0);
  assert.equal(secondsLeft(null, t), null);
});

test("lobby tables: mine first, then open ones, then full or playing", () => {
  const rows = lobbyTables(
    [
      { table: "b-full", seated: 4, status: "waiting" },
      { table: "c-open", seated: 1, status: "waiting" },
      { table: "a-playing", seated: 2, status: "playing" },
      { table: "z-mine", seated: 4, status: "playing" },
    ],
    new Set(["z-mine"]),
  );
  assert.deepEqual(
    rows.map((r) => [r.table, r.canSit, r.text]),
    [
      ["z-mine", true, "4 of 4 seated · playing"],
      ["c-open", true, "1 of 4 seated · waiting"],
      ["a-playing", false, "2 of 4 seated · playing"],
      ["b-full", false, "4 of 4 seated · waiting"],
    ],
  );
});

test("Play now tries valid table names after the player", () => {
  const names = playNowTables("brave-otter-4821");
  assert.deepEqual(names.slice(0, 2), ["brave-otter-4821", "brave-otter-4821-2"]);
  for (const n of [...names, ...playNowTables("x".repeat(80)), ...playNowTables("Ünïcode ☃")]) assert.match(n, TABLE_NAME);
});

test("connection states in words, with the retry countdown", () => {
  assert.equal(connectionView("connected", null, 0).status, "connected");
  const r = connectionView("reconnecting", 10_500, 7_000, "The connection dropped.");
  assert.equal(r.status, "reconnecting, retrying in 4 s");
  assert.equal(r.banner, "The connection dropped. Reconnecting: retrying in 4 s.");
  assert.equal(connectionView("reconnecting", 1000, 2000).status, "reconnecting, retrying now");
  const out = connectionView("logged_out", null, 0);
  assert.equal(out.status, "logged out");
  assert.equal(out.canLogin, true);
  assert.equal(connectionView("connecting", null, 0).status, "connecting…");
  // The browser tests tell states apart by these words.
  for (const s of ["connecting", "reconnecting", "logged_out", "closed", "idle"]) {
    assert.equal(connectionView(s, 0, 0).status.includes("connected"), false, s);
  }
});
