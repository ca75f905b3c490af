// Ties the client's close codes to the gateway's: the table in
// docs/PROTOCOL.md and the constants of gateway/errors.go.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { CloseAction, closeAction, closeCodes, closeWords } from "../assets/closecodes.js";

const root = new URL("../../", import.meta.url);

/**
 * protocolCloseCodes parses the "## Close codes" table of docs/PROTOCOL.md:
 * code -> {when, todo}.
 * @returns {Map<number, {when: string, todo: string}>}
 */
function protocolCloseCodes() {
  const doc = readFileSync(new URL("docs/PROTOCOL.md", root), "utf8");
  const section = doc.split(/^## Close codes$/m)[1]?.split(/^## /m)[0];
  assert.ok(section, "docs/PROTOCOL.md has no ## Close codes section");
  const rows = new Map();
  for (const line of section.split("\n")) {
    const m = line.match(/^\|\s*(\d{4})\s*\|([^|]*)\|([^|]*)\|\s*$/);
    if (m) rows.set(Number(m[1]), { when: m[2].trim(), todo: m[3].trim() });
  }
  assert.ok(rows.size >= 10, `only ${rows.size} close codes parsed from docs/PROTOCOL.md`);
  return rows;
}

/**
 * gatewayStatusCodes parses the Status* constants of gateway/errors.go.
 * @returns {Map<number, string>} code -> constant name
 */
function gatewayStatusCodes() {
  const src = readFileSync(new URL("gateway/errors.go", root), "utf8");
  const out = new Map();
  for (const m of src.matchAll(/^\s*(Status\w+)\s+websocket\.StatusCode\s*=\s*(\d+)/gm)) out.set(Number(m[2]), m[1]);
  assert.ok(out.size > 0, "no Status constants parsed from gateway/errors.go");
  return out;
}

// What the client must do for each piece of advice the protocol gives.
const advice = new Map([
  ["", CloseAction.RETRY], // 1000 normal: a server that closes normally is reconnected to
  ["reconnect with backoff", CloseAction.RETRY],
  ["fix the client", CloseAction.STOP],
  ["get a new token (log in again)", CloseAction.REFRESH],
  ["authenticate sooner", CloseAction.RETRY],
  ["log in again", CloseAction.LOG_IN],
  ["refresh, then reconnect", CloseAction.REFRESH],
  ["close another socket", CloseAction.WAIT_LONG],
  ["slow down, then reconnect", CloseAction.RETRY],
]);

test("every close code of docs/PROTOCOL.md is handled as its advice says", () => {
  for (const [code, row] of protocolCloseCodes()) {
    assert.ok(code in closeCodes, `close ${code} (${row.when}) is not in web/assets/closecodes.js`);
    assert.ok(advice.has(row.todo), `close ${code}: no client action known for the advice "${row.todo}": add it to this test`);
    assert.equal(closeAction(code), advice.get(row.todo), `close ${code} ("${row.todo}")`);
  }
});

test("the client knows no close code the protocol does not list", () => {
  const documented = protocolCloseCodes();
  for (const code of Object.keys(closeCodes).map(Number)) {
    assert.ok(documented.has(code), `web/assets/closecodes.js has ${code}, docs/PROTOCOL.md does not`);
  }
});

test("every close code of gateway/errors.go is documented and handled", () => {
  const documented = protocolCloseCodes();
  for (const [code, name] of gatewayStatusCodes()) {
    assert.ok(documented.has(code), `gateway.${name} = ${code} is not in docs/PROTOCOL.md`);
    assert.ok(code in closeCodes, `gateway.${name} = ${code} is not in web/assets/closecodes.js`);
  }
});

test("closeAction retries codes outside the contract", () => {
  assert.equal(closeAction(4999), CloseAction.RETRY);
  assert.equal(closeAction(1012), CloseAction.RETRY);
});

test("closeWords has a sentence for every code", () => {
  for (const code of Object.keys(closeCodes).map(Number)) assert.match(closeWords(code), /^[A-Z].*\.$/);
  assert.equal(closeWords(4999), "The connection closed (4999).");
});
