// The fake table server of web/testdata (fixtures, trying the page without
// a gateway) keeps DESIGN.md's rules, so that what the page is shown is a
// game that could happen.
import assert from "node:assert/strict";
import { test } from "node:test";

import { classify } from "../assets/combos.js";
import { FakeTable } from "../testdata/fake-gateway.js";

/** mulberry32: a small seeded random source, for repeatable deals. */
function seeded(/** @type {number} */ seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * playHands plays n hands at one table where the only player's turns run
 * out at once (the bot move plays them) and bots fill the other seats.
 * @param {number} n
 * @param {number} seed
 */
async function playHands(n, seed) {
  /** @type {any[]} */
  const frames = [];
  /** @type {(() => void) | null} */
  let wake = null;
  const t = new FakeTable("t", {
    send: (f) => {
      frames.push(f);
      if (f.type === "game.over") wake?.();
    },
    turnTimeout: 0,
    botDelay: 0,
    random: seeded(seed),
  });
  const me = { player_id: "p", username: "brave-otter" };
  assert.equal(t.sit(me), 0);
  /** @type {{over: any, frames: any[], state: any}[]} */
  const hands = [];
  for (let i = 0; i < n; i++) {
    const from = frames.length;
    const done = new Promise((r) => (wake = () => r(undefined)));
    assert.equal(t.start(me, true), "");
    t.broadcastState(undefined);
    await done;
    hands.push({ over: frames.findLast((f) => f.type === "game.over").data, frames: frames.slice(from), state: t.publicState() });
  }
  t.close();
  return hands;
}

test("hands against bots end with the contract's scoring", async () => {
  const hands = await playHands(12, 7);
  /** @type {number[]} scores before each hand */
  let total = [0, 0, 0, 0];
  hands.forEach(({ over, frames, state }, i) => {
    const plays = frames.filter((f) => f.type === "game.played");
    if (i === 0) assert.ok(plays[0].data.cards.includes("3D"), "the game's first play holds 3♦");
    for (const p of plays) assert.equal(classify(p.data.cards)?.combo, p.data.combo, `a valid ${p.data.combo}`);
    assert.equal(over.hands[over.winner].length, 0, "the winner has no cards left");
    over.hands.forEach((/** @type {string[]} */ left, /** @type {number} */ seat) => {
      const n = left.length;
      const want = seat === over.winner ? 0 : n === 13 ? 39 : n >= 10 ? 2 * n : n;
      assert.equal(over.penalties[seat], want, `hand ${i + 1} seat ${seat}: ${n} cards left`);
    });
    const gained = over.scores.map((/** @type {number} */ x, /** @type {number} */ seat) => x - total[seat]);
    assert.equal(gained[over.winner], over.penalties.reduce((/** @type {number} */ a, /** @type {number} */ b) => a + b, 0), "the winner gains every penalty");
    assert.equal(
      gained.reduce((/** @type {number} */ a, /** @type {number} */ b) => a + b, 0),
      0,
      `hand ${i + 1}: its points add up to zero`,
    );
    // After the hand: waiting, bots' seats empty again (their score too), the player's kept.
    assert.equal(state.status, "waiting");
    assert.deepEqual([state.turn, state.current, state.leader, state.turn_deadline], [null, null, null, null]);
    assert.deepEqual(
      state.seats.map((/** @type {any} */ s) => [!!s.player, s.bot, s.cards]),
      [
        [true, false, 0],
        [false, false, 0],
        [false, false, 0],
        [false, false, 0],
      ],
    );
    assert.equal(state.seats[0].score, over.scores[0]);
    total = [over.scores[0], 0, 0, 0]; // bot seats start again from 0
  });
});

test("passes: three in a row end the trick, and its last player leads", async () => {
  const [{ frames }] = await playHands(1, 3);
  /** @type {any} */
  let prev = null;
  for (const f of frames.filter((x) => x.type === "game.state")) {
    const s = f.data;
    if (prev && prev.current && prev.passes === 2 && s.passes === 0 && s.current === null && s.status === "playing") {
      assert.equal(s.turn, prev.current.seat, "the last player leads");
      assert.equal(s.leader, prev.current.seat);
    }
    prev = s;
  }
});

test("refusals in the contract's order", () => {
  const t = new FakeTable("t", { send: () => {}, turnTimeout: 60000, botDelay: 60000, random: seeded(1) });
  const me = { player_id: "p", username: "brave-otter" };
  assert.equal(t.play(0, ["3D"]), "no_game");
  t.sit(me);
  assert.equal(t.start({ player_id: "q", username: "x" }, true), "not_seated");
  assert.equal(t.start(me, false), "not_enough_players");
  assert.equal(t.start(me, true), "");
  assert.equal(t.start(me, true), "game_in_progress");
  const turn = /** @type {number} */ (t.turn);
  const other = (turn + 1) % 4;
  assert.equal(t.play(null, ["3D"]), "not_seated");
  assert.equal(t.play(other, ["3D"]), "not_your_turn");
  assert.equal(t.play(turn, "3D"), "invalid_cards");
  assert.equal(t.play(turn, ["3D", "3D"]), "invalid_cards");
  const mine = t.seats[turn].cards;
  const notMine = t.seats[other].cards[0];
  assert.equal(t.play(turn, [notMine]), "cards_not_in_hand");
  if (mine.length >= 2 && mine[0][0] !== mine[1][0]) assert.equal(t.play(turn, [mine[0], mine[1]]), "invalid_combination");
  const single = mine.find((c) => c !== "3D");
  assert.equal(t.play(turn, [/** @type {string} */ (single)]), "must_play_3d");
  assert.equal(t.pass(turn), "cannot_pass_on_lead");
  assert.equal(t.play(turn, ["3D"]), "");
  t.close();
});
