// Every error code a player can meet has words: those docs/PROTOCOL.md
// lists (parsed here, so new codes there fail this test until they have
// words) and those of the Big Two tables' contract.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { GatewayError, describeError, errorWords } from "../assets/errors.js";

const protocol = readFileSync(new URL("../../docs/PROTOCOL.md", import.meta.url), "utf8");

/**
 * documentedCodes are the error codes of docs/PROTOCOL.md: those of its
 * "Error codes:" paragraph and the `code` column of its tables.
 * @returns {Set<string>}
 */
function documentedCodes() {
  const codes = new Set();
  const para = protocol.match(/^Error codes:([\s\S]*?)\n\n/m);
  assert.ok(para, 'docs/PROTOCOL.md has no "Error codes:" paragraph');
  // Codes, not what the parentheses say about them ("a bad `id`").
  for (const m of para[1].replace(/\([^)]*\)/g, "").matchAll(/`([a-z][a-z0-9_]*)`/g)) codes.add(m[1]);
  // Tables with a "code" column: | status | code | when | and | code | when |.
  for (const block of protocol.split(/\n\s*\n/)) {
    const rows = block.split("\n").filter((l) => l.startsWith("|"));
    const cells = (/** @type {string} */ l) => l.split("|").slice(1, -1).map((c) => c.trim());
    const col = rows.length ? cells(rows[0]).indexOf("code") : -1;
    if (col < 0) continue;
    for (const row of rows.slice(2)) {
      const m = cells(row)[col]?.match(/^`([a-z][a-z0-9_]*)`$/);
      if (m) codes.add(m[1]);
    }
  }
  assert.ok(codes.size >= 15, `only ${codes.size} codes parsed from docs/PROTOCOL.md`);
  return codes;
}

// The Big Two tables' codes (DESIGN.md, "Big Two tables"), in the order
// the server checks them, and the HTTP API's.
const contractCodes = [
  "bad_table", "table_full", "game_in_progress", "not_seated", "not_enough_players", "no_game", "not_your_turn",
  "invalid_cards", "cards_not_in_hand", "invalid_combination", "does_not_beat", "must_play_3d", "cannot_pass_on_lead",
  "missing_token", "invalid_token", "token_expired", "session_revoked", "session_expired", "refresh_token_reused",
  "invalid_request", "rate_limited", "not_found", "method_not_allowed", "store_unavailable", "unavailable",
  "bad_room", "not_in_room", "too_many_rooms",
];

test("every error code of docs/PROTOCOL.md has words", () => {
  for (const code of documentedCodes()) assert.ok(errorWords[code], `no words for ${code} in web/assets/errors.js`);
});

test("every error code of the tables and the HTTP API has words", () => {
  for (const code of contractCodes) assert.ok(errorWords[code], `no words for ${code} in web/assets/errors.js`);
});

test("the words are sentences, not codes", () => {
  for (const [code, words] of Object.entries(errorWords)) {
    assert.match(words, /^[A-Z].*[.!]$/, code);
    assert.doesNotMatch(words, /[a-z]_[a-z]/, code);
  }
});

test("describeError: a GatewayError, an error frame's data, a code, or nothing", () => {
  assert.equal(describeError(new GatewayError(0, "does_not_beat", "x")), errorWords.does_not_beat);
  assert.equal(describeError({ code: "must_play_3d", message: "first play must contain 3D" }), errorWords.must_play_3d);
  assert.equal(describeError("not_your_turn"), "It is not your turn.");
  assert.equal(describeError({ code: "brand_new", message: "A new refusal." }), "A new refusal.");
  assert.equal(describeError({ code: "brand_new" }), "brand_new");
  assert.equal(describeError(null), "Something went wrong.");
});
