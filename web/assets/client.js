// client.js: the reusable browser client of the Big Two session gateway.
//
// One GatewayClient per page. It keeps the session in localStorage (shared by
// every tab of the origin), refreshes the tokens before they expire (HTTP
// POST /session/refresh, then `auth.refresh` on the open socket), connects
// with the subprotocol auth path (never the token in the URL), reconnects with
// exponential backoff and jitter, and emits events. No dependencies, no build
// step: `import { GatewayClient } from "/assets/client.js"`.
//
// See docs/CLIENT.md for the events and states.

/** Connection states, in the order a healthy client goes through them. */
export const State = Object.freeze({
  IDLE: "idle", // not started
  CONNECTING: "connecting", // getting a session or opening/authenticating the socket
  CONNECTED: "connected", // the socket is authenticated (after `welcome`)
  RECONNECTING: "reconnecting", // waiting before the next attempt (detail.delay ms)
  LOGGED_OUT: "logged_out", // no session: logout, revocation; start() makes a new one
  CLOSED: "closed", // close() was called
});

const SUBPROTOCOL = "bigtwo.v1";

// Close codes of the contract (DESIGN.md).
const CLOSE_INVALID_TOKEN = 4001;
const CLOSE_REVOKED = 4003;
const CLOSE_TOKEN_EXPIRED = 4004;
const CLOSE_TOO_MANY_SOCKETS = 4008;

/** An HTTP API failure: status and the contract's error code. */
export class GatewayError extends Error {
  constructor(status, code, message, retryAfter = 0) {
    super(message || code);
    this.name = "GatewayError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter; // seconds, from Retry-After on 429/503
  }
}

/**
 * GatewayClient is an EventTarget. Events (all CustomEvent, payload in
 * `detail`): "state" {state, prev, code, reason, delay}, "session" (the
 * identity after new tokens, or null), "welcome", "frame" (every frame),
 * one event per frame type ("room.message", "error", ...), "close"
 * {code, reason}. `on(type, fn)` is a shortcut that passes `detail` and
 * returns an unsubscribe function.
 */
export class GatewayClient extends EventTarget {
  #base;
  #key;
  #opts;
  #tokens = null; // the stored session body plus received_at (ms, local clock)
  #state = State.IDLE;
  #ws = null;
  #attempt = 0; // failed connection attempts since the last welcome
  #authFailures = 0; // 4001/4004 in a row, to avoid refresh loops
  #timer = 0; // reconnect timer
  #refreshTimer = 0;
  #refreshing = null; // the refresh in flight, shared by callers
  #userLogout = false;
  #seq = 0;
  #idPrefix = Math.random().toString(36).slice(2, 8);
  #pending = new Map(); // request id -> {resolve, reject, timer}
  #onStorage = (e) => this.#storageChanged(e);
  #onOnline = () => this.#wakeUp();

  /** Counters for diagnostics and tests. */
  stats = { welcomes: 0, refreshes: 0, adopted: 0, tokenUpdates: 0 };

  /**
   * @param {object} [opts]
   * @param {string} [opts.baseURL] the gateway's http(s) origin; default the page's
   * @param {string} [opts.storageKey] localStorage key; default "bigtwo.session:" + baseURL
   * @param {boolean} [opts.autoCreate] make a new session when none is usable (default true)
   * @param {number} [opts.minBackoff] first reconnect delay cap in ms (default 500)
   * @param {number} [opts.maxBackoff] largest reconnect delay cap in ms (default 30000)
   * @param {number} [opts.requestTimeout] ms before request() rejects (default 10000)
   */
  constructor(opts = {}) {
    super();
    const base = new URL(opts.baseURL || globalThis.location.origin);
    this.#base = base.origin;
    this.#key = opts.storageKey || "bigtwo.session:" + this.#base;
    this.#opts = {
      autoCreate: opts.autoCreate ?? true,
      minBackoff: opts.minBackoff ?? 500,
      maxBackoff: opts.maxBackoff ?? 30000,
      requestTimeout: opts.requestTimeout ?? 10000,
    };
  }

  /** The current state, one of State. */
  get state() {
    return this.#state;
  }

  /** The identity of the current session, or null. */
  get session() {
    const t = this.#tokens;
    if (!t) return null;
    return {
      session_id: t.session_id,
      player_id: t.player_id,
      username: t.username,
      expires_at: t.expires_at,
      session_expires_at: t.session_expires_at,
    };
  }

  /** The gateway origin this client talks to. */
  get baseURL() {
    return this.#base;
  }

  /** on subscribes fn(detail) to an event and returns the unsubscribe function. */
  on(type, fn) {
    const h = (e) => fn(e.detail);
    this.addEventListener(type, h);
    return () => this.removeEventListener(type, h);
  }

  /**
   * start restores the stored session (or creates one) and connects. It
   * resolves once a connection attempt is under way; watch "state".
   */
  async start() {
    this.#userLogout = false;
    globalThis.addEventListener("storage", this.#onStorage);
    globalThis.addEventListener("online", this.#onOnline);
    this.#setState(State.CONNECTING);
    try {
      let stored = await this.#read();
      if (!stored && (stored = this.#peek())) {
        // Only in the mirror (put there by hand or an older client): keep it.
        await this.#put(stored);
      }
      if (stored) {
        this.#adopt(stored, false);
      } else {
        await this.#createSession();
      }
    } catch (err) {
      this.#retryLater(err);
      return;
    }
    this.#connect();
  }

  /** close stops the client: no socket, no timers, the session is kept. */
  close() {
    this.#teardown(1000, "client closed");
    this.#setState(State.CLOSED);
  }

  /**
   * send writes one frame {type, id, data} if the socket is authenticated.
   * It returns the id used, or null when not connected.
   */
  send(type, data, id) {
    if (this.#state !== State.CONNECTED || !this.#ws) return null;
    id = id ?? this.#nextID();
    const f = { type, id };
    if (data !== undefined) f.data = data;
    this.#ws.send(JSON.stringify(f));
    return id;
  }

  /**
   * request sends a frame and resolves with the reply carrying its id; an
   * error frame rejects with a GatewayError (status 0).
   */
  request(type, data) {
    return new Promise((resolve, reject) => {
      const id = this.send(type, data);
      if (id === null) {
        reject(new GatewayError(0, "not_connected", "the socket is not connected"));
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new GatewayError(0, "timeout", `no reply to ${type}`));
      }, this.#opts.requestTimeout);
      this.#pending.set(id, { resolve, reject, timer });
    });
  }

  /** sessions lists this player's active sessions (GET /sessions). */
  async sessions() {
    const res = await this.#authed("GET", "/sessions");
    return (await res.json()).sessions;
  }

  /** logout revokes this session (DELETE /session); the client stays logged out. */
  async logout() {
    await this.#logout("/session");
  }

  /** logoutEverywhere revokes every session of the player (DELETE /sessions). */
  async logoutEverywhere() {
    await this.#logout("/sessions");
  }

  /**
   * refresh rotates the tokens now, one tab at a time: inside a cross-tab
   * lock it re-reads storage and uses another tab's newer tokens if there
   * are any, else calls POST /session/refresh. Concurrent calls share one
   * refresh. It resolves true when usable tokens are in hand.
   */
  refresh() {
    return this.#refresh(false);
  }

  // #refresh shares one refresh between callers. With ifDue set (timers,
  // session.expiring) it calls the server only when the stored tokens are
  // due, so tabs that just picked up fresh tokens do not rotate them again.
  #refresh(ifDue) {
    if (!this.#refreshing) {
      this.#refreshing = this.#refreshLocked(ifDue).finally(() => {
        this.#refreshing = null;
      });
    }
    return this.#refreshing;
  }

  // ---- session and tokens ----

  async #refreshLocked(ifDue) {
    const mine = this.#tokens;
    return this.#withLock(async () => {
      const cur = await this.#read();
      if (!cur) {
        // Another tab logged out (or storage was cleared).
        this.#lost("logged out in another tab");
        return false;
      }
      if (!mine || cur.session_id !== mine.session_id || cur.refresh_token !== mine.refresh_token) {
        // Another tab already rotated (or made a new session): use its tokens.
        this.#adopt(cur, true);
        this.stats.adopted++;
        return true;
      }
      if (ifDue && !refreshDue(cur)) return true;
      let res;
      try {
        res = await this.#fetch("POST", "/session/refresh", null, { refresh_token: cur.refresh_token });
      } catch (err) {
        if (err instanceof GatewayError && err.status === 401) {
          return this.#sessionDead(err);
        }
        throw err;
      }
      const body = await res.json();
      this.stats.refreshes++;
      this.#adopt(await this.#save(body, (cur.generation || 0) + 1), true);
      return true;
    });
  }

  // #sessionDead handles a 401 from refresh: a revoked session (or a reused
  // refresh token, which revokes it) stays logged out; an unknown or expired
  // one is replaced by a new session when autoCreate is on.
  async #sessionDead(err) {
    // Called with the lock held.
    const cur = await this.#read();
    if (cur && cur.session_id === this.#tokens?.session_id) await this.#clear();
    if (err.code === "session_revoked" || err.code === "refresh_token_reused" || !this.#opts.autoCreate) {
      this.#lost(err.code);
      return false;
    }
    this.#tokens = null;
    await this.#createSessionLocked();
    return true;
  }

  async #createSession() {
    await this.#withLock(async () => {
      const cur = await this.#read();
      if (cur) {
        this.#adopt(cur, false); // another tab made one meanwhile
        return;
      }
      await this.#createSessionLocked();
    });
  }

  async #createSessionLocked() {
    const res = await this.#fetch("POST", "/session", null, undefined);
    this.#adopt(await this.#save(await res.json()), false);
  }

  // #adopt makes t the current tokens, schedules the next refresh and, when
  // inBand is set and the socket is authenticated, sends auth.refresh.
  #adopt(t, inBand) {
    const prev = this.#tokens;
    this.#tokens = t;
    this.stats.tokenUpdates++;
    this.#scheduleRefresh();
    this.#emit("session", this.session);
    if (prev && prev.session_id !== t.session_id && this.#ws) {
      // Another session now: reconnect with it.
      this.#dropSocket(1000, "new session");
      this.#connect();
      return;
    }
    if (inBand && this.#state === State.CONNECTED && this.#ws) {
      this.send("auth.refresh", { token: t.token });
    }
  }

  #scheduleRefresh() {
    clearTimeout(this.#refreshTimer);
    const t = this.#tokens;
    if (!t) return;
    const jitter = Math.random() * Math.min(1000, tokenLifetime(t) * 0.05);
    const delay = Math.max(0, refreshAt(t) - jitter - Date.now());
    this.#refreshTimer = setTimeout(() => this.#refreshInBackground(), delay);
  }

  #refreshInBackground() {
    if (this.#state === State.LOGGED_OUT || this.#state === State.CLOSED) return;
    this.#refresh(true).catch((err) => {
      // Network or server trouble: try again soon, the token may still be valid.
      this.#emit("warning", { message: "refresh failed", error: err });
      clearTimeout(this.#refreshTimer);
      this.#refreshTimer = setTimeout(() => this.#refreshInBackground(), this.#backoff(1));
    });
  }

  #expiresSoon() {
    const t = this.#tokens;
    if (!t) return true;
    return Date.now() > t.received_at + tokenLifetime(t) - 1000;
  }

  #storageChanged(e) {
    if (e.storageArea !== globalThis.localStorage || e.key !== this.#key) return;
    if (this.#state === State.CLOSED || this.#state === State.IDLE) return;
    const t = this.#peek();
    if (!t) {
      // Logged out in another tab: our socket gets 4003 (same session).
      return;
    }
    if (this.#tokens && t.session_id === this.#tokens.session_id && t.refresh_token === this.#tokens.refresh_token) return;
    this.stats.adopted++;
    const wasOut = this.#state === State.LOGGED_OUT;
    this.#adopt(t, true);
    if (wasOut && !this.#userLogout) this.#connect();
  }

  // ---- socket ----

  async #connect() {
    clearTimeout(this.#timer);
    if (this.#state === State.CLOSED || this.#state === State.LOGGED_OUT) return;
    if (this.#ws) return;
    this.#setState(State.CONNECTING);
    try {
      if (this.#expiresSoon() && !(await this.refresh())) return;
    } catch (err) {
      this.#retryLater(err);
      return;
    }
    if (this.#ws || this.#state !== State.CONNECTING || !this.#tokens) return;
    const url = this.#base.replace(/^http/, "ws") + "/ws";
    let ws;
    try {
      ws = new WebSocket(url, [SUBPROTOCOL, "bearer." + this.#tokens.token]);
    } catch (err) {
      this.#retryLater(err);
      return;
    }
    this.#ws = ws;
    ws.onmessage = (e) => this.#frame(ws, e.data);
    ws.onclose = (e) => this.#closed(ws, e.code, e.reason);
  }

  #frame(ws, raw) {
    if (ws !== this.#ws) return;
    let f;
    try {
      f = JSON.parse(raw);
    } catch {
      return;
    }
    if (!f || typeof f.type !== "string") return;
    switch (f.type) {
      case "welcome":
        this.#attempt = 0;
        this.#authFailures = 0;
        this.stats.welcomes++;
        this.#setState(State.CONNECTED);
        break;
      case "session.expiring":
        // This socket's token is expiring. If another tab already rotated
        // and we have the new tokens, the in-band refresh may just be late.
        if (refreshDue(this.#tokens)) this.#refreshInBackground();
        else this.send("auth.refresh", { token: this.#tokens.token });
        break;
      case "ping":
        this.send("pong", undefined, f.id);
        break;
    }
    if (f.id !== undefined && this.#pending.has(f.id)) {
      const p = this.#pending.get(f.id);
      this.#pending.delete(f.id);
      clearTimeout(p.timer);
      if (f.type === "error") p.reject(new GatewayError(0, f.data?.code, f.data?.message));
      else p.resolve(f);
    }
    this.#emit("frame", f);
    this.#emit(f.type, f);
  }

  #closed(ws, code, reason) {
    if (ws !== this.#ws) return;
    this.#ws = null;
    this.#failPending();
    this.#emit("close", { code, reason });
    if (this.#state === State.CLOSED) return;
    if (this.#userLogout) {
      this.#setState(State.LOGGED_OUT, { code, reason });
      return;
    }
    switch (code) {
      case CLOSE_REVOKED: {
        const cur = this.#peek();
        if (cur && this.#tokens && cur.session_id !== this.#tokens.session_id) {
          this.#adopt(cur, false); // another tab already has a new session
          this.#connect();
          return;
        }
        if (this.#tokens) this.#forget(this.#tokens.session_id);
        this.#lost(reason || "session revoked", code);
        return;
      }
      case CLOSE_TOO_MANY_SOCKETS:
        this.#setState(State.LOGGED_OUT, { code, reason: reason || "too many sockets for this player" });
        return;
      case CLOSE_INVALID_TOKEN:
      case CLOSE_TOKEN_EXPIRED:
        if (++this.#authFailures <= 2) {
          this.#setState(State.CONNECTING, { code, reason });
          this.refresh().then(
            (ok) => ok && this.#connect(),
            (err) => this.#retryLater(err, code, reason),
          );
          return;
        }
        break; // refreshing did not help: back off like any failure
    }
    this.#retryLater(null, code, reason);
  }

  #retryLater(err, code, reason) {
    if (this.#state === State.CLOSED || this.#state === State.LOGGED_OUT) return;
    this.#attempt++;
    let delay = this.#backoff(this.#attempt);
    if (err instanceof GatewayError && err.retryAfter) delay = Math.max(delay, err.retryAfter * 1000);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#connectOrStart(), delay);
    this.#setState(State.RECONNECTING, { code, reason: reason || err?.message, delay });
  }

  #connectOrStart() {
    if (this.#tokens) {
      this.#connect();
      return;
    }
    this.#setState(State.CONNECTING);
    this.#createSession().then(
      () => this.#connect(),
      (err) => this.#retryLater(err),
    );
  }

  // #backoff is the delay before attempt n: exponential, capped, with full
  // jitter over its upper half so that many clients do not come back at once.
  #backoff(n) {
    const cap = Math.min(this.#opts.maxBackoff, this.#opts.minBackoff * 2 ** Math.max(0, n - 1));
    return Math.round(cap / 2 + Math.random() * (cap / 2));
  }

  #wakeUp() {
    if (this.#state === State.RECONNECTING) this.#connectOrStart();
  }

  #dropSocket(code, reason) {
    const ws = this.#ws;
    this.#ws = null;
    this.#failPending();
    if (ws) {
      ws.onmessage = ws.onclose = null;
      ws.close(code, reason);
    }
  }

  #teardown(code, reason) {
    clearTimeout(this.#timer);
    clearTimeout(this.#refreshTimer);
    globalThis.removeEventListener("storage", this.#onStorage);
    globalThis.removeEventListener("online", this.#onOnline);
    this.#dropSocket(code, reason);
  }

  #failPending() {
    for (const [, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new GatewayError(0, "not_connected", "the socket closed"));
    }
    this.#pending.clear();
  }

  // #lost ends the session without a new one: state logged_out.
  #lost(reason, code) {
    clearTimeout(this.#timer);
    clearTimeout(this.#refreshTimer);
    this.#dropSocket(1000, "logged out");
    this.#tokens = null;
    this.#emit("session", null);
    this.#setState(State.LOGGED_OUT, { code, reason });
  }

  async #logout(path) {
    this.#userLogout = true;
    if (this.#expiresSoon()) await this.refresh().catch(() => false);
    try {
      await this.#authed("DELETE", path);
    } finally {
      if (this.#tokens) await this.#forget(this.#tokens.session_id).catch(() => {});
      clearTimeout(this.#timer);
      clearTimeout(this.#refreshTimer);
      this.#tokens = null;
      this.#emit("session", null);
      if (!this.#ws) {
        this.#setState(State.LOGGED_OUT, { reason: "logged out" });
      } else {
        // The server closes the socket with 4003; do not wait for ever.
        const ws = this.#ws;
        setTimeout(() => {
          if (this.#ws === ws) {
            this.#dropSocket(1000, "logged out");
            this.#setState(State.LOGGED_OUT, { reason: "logged out" });
          }
        }, 3000);
      }
    }
  }

  // ---- HTTP ----

  async #authed(method, path) {
    if (!this.#tokens) throw new GatewayError(401, "missing_token", "no session");
    try {
      return await this.#fetch(method, path, this.#tokens.token);
    } catch (err) {
      if (err instanceof GatewayError && err.code === "token_expired" && (await this.refresh())) {
        return this.#fetch(method, path, this.#tokens.token);
      }
      throw err;
    }
  }

  async #fetch(method, path, token, body) {
    const headers = {};
    if (token) headers.Authorization = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(this.#base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
    if (res.ok) return res;
    let code = "http_" + res.status;
    let message = res.statusText;
    try {
      const e = (await res.json()).error;
      code = e.code || code;
      message = e.message || message;
    } catch {
      // not the JSON error body
    }
    throw new GatewayError(res.status, code, message, Number(res.headers.get("Retry-After")) || 0);
  }

  // ---- storage and locks ----

  // The session is kept twice: in IndexedDB, the copy read and written
  // under the lock (its transactions are consistent across tabs), and in
  // localStorage, a mirror whose `storage` events tell the other tabs and
  // which is read where a slightly stale answer is harmless. (localStorage
  // alone is not enough: another tab's write can reach this tab's copy
  // after the lock has passed, and presenting a rotated refresh token
  // revokes the session.)

  // #read returns the authoritative stored session, or null.
  async #read() {
    const db = await this.#db();
    if (!db) return this.#peek();
    return validSession(await idb(db, "readonly", (st) => st.get(this.#key)));
  }

  // #peek returns the localStorage mirror, or null.
  #peek() {
    try {
      return validSession(JSON.parse(globalThis.localStorage.getItem(this.#key)));
    } catch {
      return null;
    }
  }

  // #save stores a session body (generation counts its rotations) and
  // returns the stored record.
  #save(body, generation = 0) {
    return this.#put({ ...body, received_at: Date.now(), generation });
  }

  // #put writes the stored record t in both places.
  async #put(t) {
    const db = await this.#db();
    if (db) await idb(db, "readwrite", (st) => st.put(t, this.#key));
    globalThis.localStorage.setItem(this.#key, JSON.stringify(t));
    return t;
  }

  async #clear() {
    const db = await this.#db();
    if (db) await idb(db, "readwrite", (st) => st.delete(this.#key));
    globalThis.localStorage.removeItem(this.#key);
  }

  // #forget clears the stored session if it is still sessionID.
  #forget(sessionID) {
    return this.#withLock(async () => {
      if ((await this.#read())?.session_id === sessionID) await this.#clear();
    });
  }

  #dbPromise = null;

  // #db opens the IndexedDB database once; null when there is none.
  #db() {
    if (!this.#dbPromise) {
      this.#dbPromise = new Promise((resolve) => {
        if (!globalThis.indexedDB) {
          resolve(null);
          return;
        }
        const req = indexedDB.open("bigtwo-gateway", 1);
        req.onupgradeneeded = () => req.result.createObjectStore("sessions");
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => resolve(null);
        req.onblocked = () => resolve(null);
      });
    }
    return this.#dbPromise;
  }

  // #withLock runs fn while holding the cross-tab lock of this session key:
  // the Web Locks API where available (secure contexts), else a short
  // localStorage lease.
  #withLock(fn) {
    const name = this.#key + ":lock";
    if (globalThis.navigator?.locks?.request) {
      return navigator.locks.request(name, fn);
    }
    return leaseLock(name, fn);
  }

  #nextID() {
    return `${this.#idPrefix}-${++this.#seq}`;
  }

  #setState(state, extra = {}) {
    const prev = this.#state;
    this.#state = state;
    if (prev === state && state !== State.RECONNECTING && !extra.code) return;
    this.#emit("state", { state, prev, ...extra });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

// tokenLifetime is the access token's lifetime in ms, from its own exp and
// iat (immune to clock skew between browser and server), else from
// expires_at.
function tokenLifetime(t) {
  try {
    const part = t.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part));
    if (typeof claims.exp === "number" && typeof claims.iat === "number" && claims.exp > claims.iat) {
      return (claims.exp - claims.iat) * 1000;
    }
  } catch {
    // not a JWT we can read: fall back
  }
  return Math.max(0, Date.parse(t.expires_at) - t.received_at);
}

// validSession returns t if it looks like a stored session, else null.
function validSession(t) {
  return t && t.token && t.refresh_token && t.session_id ? t : null;
}

// idb runs one request in a transaction of the "sessions" store and
// resolves with its result once the transaction has committed.
function idb(db, mode, fn) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction("sessions", mode);
    const req = fn(tx.objectStore("sessions"));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}

// refreshAt is when tokens t are due for a refresh (local ms): 60 s before
// expiry, or at 60 % of the life of shorter tokens.
function refreshAt(t) {
  const life = tokenLifetime(t);
  return t.received_at + life - Math.min(60000, life * 0.4);
}

// refreshDue reports whether t is due for a refresh (with 10 % of its life
// to spare, so the timer's jitter does not make a due refresh look early).
function refreshDue(t) {
  return !t || Date.now() >= refreshAt(t) - tokenLifetime(t) * 0.1;
}

// leaseLock is the fallback lock without the Web Locks API: a lease in
// localStorage, written, then confirmed after a short pause.
async function leaseLock(name, fn) {
  const me = Math.random().toString(36).slice(2);
  const pause = (ms) => new Promise((r) => setTimeout(r, ms));
  for (let i = 0; i < 100; i++) {
    const cur = JSON.parse(localStorage.getItem(name) || "null");
    if (!cur || cur.until < Date.now()) {
      localStorage.setItem(name, JSON.stringify({ me, until: Date.now() + 10000 }));
      await pause(50);
      if (JSON.parse(localStorage.getItem(name) || "null")?.me === me) {
        try {
          return await fn();
        } finally {
          localStorage.removeItem(name);
        }
      }
    }
    await pause(100 + Math.random() * 100);
  }
  return fn(); // give up waiting: better a possible race than no refresh
}
