// GatewayClient against a fake WebSocket, in node: frames, requests and
// what each close code leads to.
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";

import { GatewayClient, State } from "../assets/client.js";
import { stored } from "../testdata/session.js";

/** FakeWS records what the client sends; the test plays the server. */
class FakeWS {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  /** @type {FakeWS[]} */
  static all = [];
  /** @type {((e: {data: string}) => void) | null} */
  onmessage = null;
  /** @type {((e: {code: number, reason: string}) => void) | null} */
  onclose = null;
  readyState = FakeWS.OPEN;
  /** @type {any[]} */
  sent = [];
  /**
   * @param {string} url
   * @param {string[]} protocols
   */
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    FakeWS.all.push(this);
  }
  /** @param {string} s */
  send(s) {
    this.sent.push(JSON.parse(s));
  }
  close() {
    this.readyState = FakeWS.CLOSED;
  }
  /** @param {object} f a frame from the server */
  receive(f) {
    this.onmessage?.({ data: JSON.stringify(f) });
  }
  /**
   * @param {number} code
   * @param {string} [reason]
   */
  serverClose(code, reason = "") {
    this.readyState = FakeWS.CLOSED;
    this.onclose?.({ code, reason });
  }
}

/** A localStorage of one origin. */
class MemoryStorage {
  /** @type {Map<string, string>} */
  #m = new Map();
  get length() {
    return this.#m.size;
  }
  /** @param {string} k */
  getItem(k) {
    return this.#m.get(k) ?? null;
  }
  /**
   * @param {string} k
   * @param {string} v
   */
  setItem(k, v) {
    this.#m.set(k, String(v));
  }
  /** @param {string} k */
  removeItem(k) {
    this.#m.delete(k);
  }
}

const g = /** @type {any} */ (globalThis);
const BASE = "http://gw.test";
const KEY = "bigtwo.session:" + BASE;

/** @type {GatewayClient} */
let client;

beforeEach(() => {
  FakeWS.all = [];
  g.WebSocket = FakeWS;
  g.localStorage = new MemoryStorage();
  g.addEventListener ??= () => {};
  g.removeEventListener ??= () => {};
  g.localStorage.setItem(KEY, JSON.stringify(stored(Date.now(), 3600)));
  client = new GatewayClient({ baseURL: BASE, minBackoff: 20, maxBackoff: 80 });
});

afterEach(() => client.close());

/**
 * until resolves when the client emits event type with a detail that
 * matches pred.
 * @param {string} type
 * @param {(d: any) => boolean} [pred]
 */
function until(type, pred = () => true) {
  return new Promise((resolve) => {
    const off = client.on(type, (d) => {
      if (pred(d)) {
        off();
        resolve(d);
      }
    });
  });
}

/** connected starts the client and welcomes its socket. */
async function connected() {
  const open = until("state", (d) => d.state === State.CONNECTING);
  client.start();
  await open;
  await waitFor(() => FakeWS.all.length > 0);
  const ws = FakeWS.all[FakeWS.all.length - 1];
  ws.receive({ type: "welcome", data: { username: "brave-otter" } });
  assert.equal(client.state, State.CONNECTED);
  return ws;
}

/** @param {() => boolean} cond */
async function waitFor(cond) {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), "condition not met within 1 s");
}

test("the socket offers bigtwo.v1 and the token as subprotocols, never in the URL", async () => {
  const ws = await connected();
  assert.equal(ws.url, "ws://gw.test/ws");
  assert.equal(ws.protocols[0], "bigtwo.v1");
  assert.match(ws.protocols[1], /^bearer\.ey/);
});

test("a request settles on the first frame with its id; every frame is still an event", async () => {
  const ws = await connected();
  /** @type {string[]} */
  const events = [];
  /** @type {string[]} */
  const frames = [];
  for (const t of ["game.played", "game.state", "game.hand"]) client.on(t, (f) => events.push(`${f.type}#${f.id}`));
  client.on("frame", (f) => frames.push(f.type));

  const reply = client.request("game.play", { table: "t", cards: ["3D"] });
  const { id, type } = ws.sent[ws.sent.length - 1];
  assert.equal(type, "game.play");
  ws.receive({ type: "game.played", id, data: { table: "t", seat: 0, cards: ["3D"], combo: "single" } });
  ws.receive({ type: "game.state", id, data: { table: "t" } });
  ws.receive({ type: "game.hand", id, data: { table: "t", cards: [] } });

  const f = await reply;
  assert.equal(f.type, "game.played");
  assert.deepEqual(events, [`game.played#${id}`, `game.state#${id}`, `game.hand#${id}`]);
  assert.deepEqual(frames, ["game.played", "game.state", "game.hand"]);
});

test("an error frame rejects the request with its code", async () => {
  const ws = await connected();
  const reply = client.request("game.pass", { table: "t" });
  const { id } = ws.sent[ws.sent.length - 1];
  ws.receive({ type: "error", id, data: { code: "cannot_pass_on_lead", message: "lead" } });
  await assert.rejects(reply, { name: "GatewayError", code: "cannot_pass_on_lead", status: 0 });
});

test("frames nobody asked for (a resync after welcome) are events", async () => {
  const ws = await connected();
  const got = until("game.hand");
  ws.receive({ type: "game.state", data: { table: "t" } });
  ws.receive({ type: "game.hand", data: { table: "t", cards: ["3D"] } });
  assert.deepEqual((await got).data.cards, ["3D"]);
});

test("a server ping is answered with a pong of the same id", async () => {
  const ws = await connected();
  ws.receive({ type: "ping", id: 7 });
  assert.deepEqual(ws.sent[ws.sent.length - 1], { type: "pong", id: 7 });
});

test("session.expiring with tokens not yet due sends them in band", async () => {
  const ws = await connected();
  ws.receive({ type: "session.expiring", data: { expires_at: "" } });
  const last = ws.sent[ws.sent.length - 1];
  assert.equal(last.type, "auth.refresh");
  assert.equal(last.data.token, client.session && JSON.parse(g.localStorage.getItem(KEY)).token);
});

test("requests in flight fail when the socket closes", async () => {
  const ws = await connected();
  const reply = client.request("game.list");
  ws.serverClose(1006);
  await assert.rejects(reply, { code: "not_connected" });
});

const closes = [
  { code: 1001, state: State.RECONNECTING, name: "draining: reconnect" },
  { code: 1006, state: State.RECONNECTING, name: "dropped: reconnect" },
  { code: 1013, state: State.RECONNECTING, name: "overloaded: reconnect" },
  { code: 4029, state: State.RECONNECTING, name: "rate limited: reconnect" },
  { code: 4008, state: State.RECONNECTING, name: "too many sockets: the longest wait", delay: [40, 80] },
  { code: 4003, state: State.LOGGED_OUT, name: "revoked: logged out" },
  { code: 1009, state: State.CLOSED, name: "too big: stop" },
  { code: 1007, state: State.CLOSED, name: "not UTF-8: stop" },
];
for (const c of closes) {
  test(`close ${c.code}, ${c.name}`, async () => {
    const ws = await connected();
    const next = until("state", (d) => d.state !== State.CONNECTED);
    ws.serverClose(c.code, "why");
    const d = await next;
    assert.equal(d.state, c.state);
    assert.equal(d.code, c.code);
    if (c.delay) assert.ok(d.delay >= c.delay[0] && d.delay <= c.delay[1], `delay ${d.delay} outside ${c.delay}`);
    if (c.state === State.LOGGED_OUT) {
      assert.equal(client.session, null);
      await waitFor(() => g.localStorage.getItem(KEY) === null);
    } else {
      assert.notEqual(g.localStorage.getItem(KEY), null, "the session is kept");
    }
  });
}

test("after a drop the client reconnects with the same session", async () => {
  const ws = await connected();
  const before = client.session;
  ws.serverClose(1006);
  await waitFor(() => FakeWS.all.length === 2);
  FakeWS.all[1].receive({ type: "welcome", data: {} });
  assert.equal(client.state, State.CONNECTED);
  assert.deepEqual(client.session, before);
  assert.equal(client.stats.welcomes, 2);
});

test("logout: logged_out only once the stored session is forgotten, even if 4003 comes first", async () => {
  const ws = await connected();
  const realFetch = g.fetch;
  /** @type {string[]} */
  const calls = [];
  g.fetch = async (/** @type {string} */ url, /** @type {RequestInit} */ init) => {
    calls.push(`${init.method} ${url}`);
    ws.serverClose(4003, "session revoked"); // the revocation outruns the HTTP answer
    assert.notEqual(client.state, State.LOGGED_OUT, "logged_out before the server answered");
    return new Response(null, { status: 204 });
  };
  try {
    const out = until("state", (d) => d.state === State.LOGGED_OUT);
    await client.logout();
    const d = await out;
    assert.equal(d.code, 4003);
    assert.deepEqual(calls, ["DELETE http://gw.test/session"]);
    assert.equal(g.localStorage.getItem(KEY), null);
  } finally {
    g.fetch = realFetch;
  }
});

test("a failed logout keeps the session and reconnects a socket that closed meanwhile", async () => {
  const ws = await connected();
  const realFetch = g.fetch;
  g.fetch = async () => {
    ws.serverClose(1006);
    throw new TypeError("Failed to fetch");
  };
  try {
    const retry = until("state", (d) => d.state === State.RECONNECTING);
    await assert.rejects(client.logout(), { code: "network_error" });
    await retry;
    assert.notEqual(client.session, null);
    assert.notEqual(g.localStorage.getItem(KEY), null);
  } finally {
    g.fetch = realFetch;
  }
});
