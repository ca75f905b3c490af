// client.js: the reusable browser client of the Big Two session gateway.
//
// One GatewayClient per page. It keeps the session in IndexedDB with a
// localStorage mirror (shared by every tab of the origin), refreshes the
// tokens before they expire (HTTP POST /session/refresh, then `auth.refresh`
// on the open socket), connects with the subprotocol auth path (never the
// token in the URL), reconnects with exponential backoff and jitter, detects
// dead sockets with application pings, and emits events. No dependencies, no
// build step: `import { GatewayClient } from "/assets/client.js"`.
//
// See docs/CLIENT.md for the events and states.

/** Connection states, in the order a healthy client goes through them. */
export const State = Object.freeze({
  IDLE: "idle", // not started
  CONNECTING: "connecting", // getting a session or opening/authenticating the socket
  CONNECTED: "connected", // the socket is authenticated (after `welcome`)
  RECONNECTING: "reconnecting", // waiting before the next attempt (detail.delay ms; also after 4008)
  LOGGED_OUT: "logged_out", // no usable session: logout, revocation, auth refused; start() again
  CLOSED: "closed", // close() was called, or the server closed with 1002/1007/1009 (not retried)
});

const SUBPROTOCOL = "bigtwo.v1";

// Close codes of the contract (DESIGN.md).
const CLOSE_INVALID_TOKEN = 4001;
const CLOSE_REVOKED = 4003;
const CLOSE_TOKEN_EXPIRED = 4004;
const CLOSE_TOO_MANY_SOCKETS = 4008;
// Closes caused by what this client sent: retrying would fail the same way.
const CLOSE_FINAL = new Set([1002, 1007, 1009]);

// MAX_AUTH_FAILURES is how many 4001/4004 closes in a row (each followed by a
// refresh) end in logged_out instead of another attempt.
const MAX_AUTH_FAILURES = 3;
// STABLE_AFTER is how long (ms) a socket must stay up before the reconnect
// backoff starts again from its first step.
const STABLE_AFTER = 30000;

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
  #attempt = 0; // connection attempts since a socket last stayed up STABLE_AFTER
  #authFailures = 0; // 4001/4004 in a row, to avoid refresh loops
  #refreshFailures = 0; // background refreshes failed in a row
  #timer = 0; // reconnect timer
  #notBefore = 0; // no reconnect before this time (ms): Retry-After, 4008
  #refreshTimer = 0;
  #stableTimer = 0; // resets #attempt once the socket has stayed up
  #idleTimer = 0; // pings the server when no frame came for pingInterval
  #probing = false; // a ping is in flight
  #readyWaiters = new Set(); // {resolve, reject, timer} of ready() calls
  #refreshing = null; // the refresh in flight, shared by callers
  #userLogout = false;
  #seq = 0;
  #idPrefix = Math.random().toString(36).slice(2, 8);
  #pending = new Map(); // request id -> {resolve, reject, timer}
  #onStorage = (e) => this.#storageChanged(e);
  #onOnline = () => this.#wakeUp();
  #onVisibility = () => {
    if (globalThis.document?.visibilityState !== "hidden") this.#wakeUp();
  };

  /**
   * Counters for diagnostics and tests: welcomes received, HTTP refreshes
   * made by this tab, tokens adopted from another tab, token updates of any
   * kind, and application pings sent.
   */
  stats = { welcomes: 0, refreshes: 0, adopted: 0, tokenUpdates: 0, pings: 0 };

  /**
   * @param {object} [opts]
   * @param {string} [opts.baseURL] the gateway's http(s) origin; default the page's
   * @param {string} [opts.storageKey] localStorage key; default "bigtwo.session:" + baseURL
   * @param {boolean} [opts.autoCreate] make a new session when none is usable (default true)
   * @param {number} [opts.minBackoff] first reconnect delay cap in ms (default 500)
   * @param {number} [opts.maxBackoff] largest reconnect delay cap in ms (default 30000)
   * @param {number} [opts.requestTimeout] ms before request() or an HTTP call rejects (default 10000)
   * @param {number} [opts.pingInterval] ms without a frame before an application ping (default 25000)
   * @param {number} [opts.pingTimeout] ms to wait for its pong before reconnecting (default 10000)
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
      pingInterval: opts.pingInterval ?? 25000,
      pingTimeout: opts.pingTimeout ?? 10000,
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
   * resolves once a connection attempt is under way, not when connected:
   * `await client.ready()` for that, or watch "state". Calling it while the
   * client is already running does nothing.
   */
  async start() {
    if (this.#state === State.CONNECTING || this.#state === State.CONNECTED || this.#state === State.RECONNECTING) {
      return;
    }
    this.#userLogout = false;
    this.#attempt = 0;
    this.#authFailures = 0;
    globalThis.addEventListener("storage", this.#onStorage);
    globalThis.addEventListener("online", this.#onOnline);
    globalThis.document?.addEventListener("visibilitychange", this.#onVisibility);
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

  /**
   * ready resolves with the session identity once the socket is
   * authenticated (at once if it already is). It keeps waiting through
   * reconnects, and rejects with a GatewayError whose code is the state if
   * the client is or ends logged_out or closed, or with code "timeout" after
   * timeout ms (0: no limit).
   */
  ready(timeout = 0) {
    if (this.#state === State.CONNECTED) return Promise.resolve(this.session);
    if (this.#state === State.LOGGED_OUT || this.#state === State.CLOSED) {
      return Promise.reject(new GatewayError(0, this.#state, "the client is " + this.#state));
    }
    return new Promise((resolve, reject) => {
      const w = { resolve, reject, timer: 0 };
      if (timeout > 0) {
        w.timer = setTimeout(() => {
          this.#readyWaiters.delete(w);
          reject(new GatewayError(0, "timeout", `not connected within ${timeout} ms`));
        }, timeout);
      }
      this.#readyWaiters.add(w);
    });
  }

  /** close stops the client: no socket, no timers, the session is kept. */
  close() {
    this.#teardown(1000, "client closed");
    this.#setState(State.CLOSED, { reason: "client closed" });
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
    return this.#request(type, data, this.#opts.requestTimeout);
  }

  #request(type, data, timeout) {
    return new Promise((resolve, reject) => {
      const id = this.send(type, data);
      if (id === null) {
        reject(new GatewayError(0, "not_connected", "the socket is not connected"));
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new GatewayError(0, "timeout", `no reply to ${type}`));
      }, timeout);
      this.#pending.set(id, { resolve, reject, timer });
    });
  }

  /** sessions lists this player's active sessions (GET /sessions). */
  async sessions() {
    return (await this.#authed("GET", "/sessions")).sessions;
  }

  /**
   * logout revokes this session (DELETE /session); every tab of the browser
   * ends logged_out. If the server could not be told (network error,
   * timeout, 5xx, 429) it rejects and keeps the session, so the caller can
   * retry; a 401 means the session is already gone and counts as done.
   */
  async logout() {
    await this.#logout("/session");
  }

  /** logoutEverywhere revokes every session of the player (DELETE /sessions), like logout. */
  async logoutEverywhere() {
    await this.#logout("/sessions");
  }

  /**
   * refresh rotates the tokens now, one tab at a time: inside a cross-tab
   * lock it re-reads storage and uses another tab's newer tokens if there
   * are any, else calls POST /session/refresh. Concurrent calls share one
   * refresh. It resolves true when usable tokens are in hand (rotated,
   * another tab's, or a new session when the old one was unknown or expired
   * and autoCreate is on), false when the client ended logged_out, and
   * rejects with a GatewayError on network trouble, a timeout, a 5xx or a
   * 429 (the tokens are kept).
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
      let body;
      try {
        body = await this.#fetch("POST", "/session/refresh", null, { refresh_token: cur.refresh_token });
      } catch (err) {
        if (err instanceof GatewayError && err.status === 401) {
          return this.#sessionDead(err);
        }
        throw err;
      }
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
    const body = await this.#fetch("POST", "/session", null, undefined);
    this.#adopt(await this.#save(body), false);
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
    this.#refresh(true).then(
      () => {
        this.#refreshFailures = 0;
      },
      (err) => {
        // Network or server trouble: try again later, the token may still be
        // valid. Back off like reconnects do, and never before Retry-After.
        this.#refreshFailures++;
        let delay = this.#backoff(this.#refreshFailures);
        if (err instanceof GatewayError && err.retryAfter) delay = Math.max(delay, err.retryAfter * 1000);
        this.#emit("warning", { message: "refresh failed", error: err, delay });
        clearTimeout(this.#refreshTimer);
        this.#refreshTimer = setTimeout(() => this.#refreshInBackground(), delay);
      },
    );
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
    if (wasOut) {
      // Another tab started a new session after a logout: every tab of the
      // browser shares it, this one included.
      this.#userLogout = false;
      this.#attempt = 0;
      this.#authFailures = 0;
      this.#setState(State.CONNECTING, { reason: "new session from another tab" });
      this.#connect();
    }
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
        // Authenticated; the backoff restarts only once the socket has
        // stayed up, so a server that welcomes and then closes is not
        // hammered.
        this.#authFailures = 0;
        this.stats.welcomes++;
        clearTimeout(this.#stableTimer);
        this.#stableTimer = setTimeout(() => {
          this.#attempt = 0;
        }, STABLE_AFTER);
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
    this.#armIdle();
    this.#emit("frame", f);
    this.#emit(f.type, f);
  }

  // #armIdle (re)starts the idle timer: no frame for pingInterval sends an
  // application ping.
  #armIdle() {
    clearTimeout(this.#idleTimer);
    if (this.#state !== State.CONNECTED) return;
    this.#idleTimer = setTimeout(() => this.#probe(), this.#opts.pingInterval);
  }

  // #probe checks that the socket is alive with a ping; with no pong within
  // pingTimeout the socket is taken for dead (half-open after a sleep or a
  // network change) and replaced, with backoff.
  #probe() {
    const ws = this.#ws;
    if (!ws || this.#state !== State.CONNECTED || this.#probing) return;
    this.#probing = true;
    this.stats.pings++;
    this.#request("ping", undefined, this.#opts.pingTimeout)
      .then(
        () => {},
        (err) => {
          if (ws !== this.#ws || err.code !== "timeout") return;
          this.#dropSocket(1000, "no pong");
          this.#emit("close", { code: 1006, reason: "no reply to ping" });
          this.#retryLater(null, 1006, "no reply to ping");
        },
      )
      .finally(() => {
        this.#probing = false;
      });
  }

  #closed(ws, code, reason) {
    if (ws !== this.#ws) return;
    this.#dropSocket();
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
        // The player has too many sockets (other tabs, devices); ours stay
        // open. Keep the session and try again after the longest backoff.
        this.#retryLater(null, code, reason || "too many sockets for this player", this.#backoff(Infinity));
        return;
      case CLOSE_INVALID_TOKEN:
      case CLOSE_TOKEN_EXPIRED:
        if (++this.#authFailures < MAX_AUTH_FAILURES) {
          this.#setState(State.CONNECTING, { code, reason });
          this.refresh().then(
            (ok) => ok && this.#connect(),
            (err) => this.#retryLater(err, code, reason),
          );
          return;
        }
        // Fresh tokens are refused too: stop instead of looping. The stored
        // session is kept; start() tries it again.
        this.#lost(`authentication failed ${MAX_AUTH_FAILURES} times` + (reason ? ": " + reason : ""), code);
        return;
      default:
        if (CLOSE_FINAL.has(code)) {
          // We sent something the server cannot take: retrying would do it
          // again. The session is kept; start() connects again.
          this.#teardown();
          this.#setState(State.CLOSED, { code, reason: reason || "closed by the server" });
          return;
        }
    }
    this.#retryLater(null, code, reason);
  }

  // #retryLater schedules the next attempt after the backoff, Retry-After
  // and minDelay (ms), whichever is longest.
  #retryLater(err, code, reason, minDelay = 0) {
    if (this.#state === State.CLOSED || this.#state === State.LOGGED_OUT) return;
    this.#attempt++;
    const backoff = this.#backoff(this.#attempt);
    let delay = Math.max(backoff, minDelay);
    if (err instanceof GatewayError && err.retryAfter) delay = Math.max(delay, err.retryAfter * 1000);
    // Coming back online may cut a backoff short, not a delay the server asked for.
    this.#notBefore = delay > backoff ? Date.now() + delay : 0;
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

  // #backoff is the delay before attempt n (1, 2, ...): a cap of
  // min(maxBackoff, minBackoff·2^(n-1)), and a random delay in the upper half
  // of it so that many clients do not come back at once.
  #backoff(n) {
    const cap = Math.min(this.#opts.maxBackoff, this.#opts.minBackoff * 2 ** Math.max(0, n - 1));
    return Math.round(cap / 2 + Math.random() * (cap / 2));
  }

  // #wakeUp runs when the browser comes back online or the page becomes
  // visible: a waiting reconnect goes now, an open socket is checked.
  #wakeUp() {
    if (this.#state === State.RECONNECTING && Date.now() >= this.#notBefore) this.#connectOrStart();
    else if (this.#state === State.CONNECTED) this.#probe();
  }

  // #dropSocket forgets the socket (closing it with code and reason if it
  // is still open) and fails the requests waiting on it.
  #dropSocket(code = 1000, reason = "") {
    const ws = this.#ws;
    this.#ws = null;
    clearTimeout(this.#stableTimer);
    clearTimeout(this.#idleTimer);
    this.#failPending();
    if (ws) {
      ws.onmessage = ws.onclose = null;
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close(code, reason);
    }
  }

  #teardown(code, reason) {
    clearTimeout(this.#timer);
    clearTimeout(this.#refreshTimer);
    globalThis.removeEventListener("storage", this.#onStorage);
    globalThis.removeEventListener("online", this.#onOnline);
    globalThis.document?.removeEventListener("visibilitychange", this.#onVisibility);
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
    this.#authFailures = 0;
    this.#dropSocket(1000, "logged out");
    this.#tokens = null;
    this.#emit("session", null);
    this.#setState(State.LOGGED_OUT, { code, reason });
  }

  // #logout forgets the session once the server has revoked it (2xx) or
  // says it is already gone (401). Any other failure keeps it and rejects.
  async #logout(path) {
    this.#userLogout = true;
    try {
      if (this.#expiresSoon()) await this.refresh().catch(() => false);
      await this.#authed("DELETE", path);
    } catch (err) {
      if (!(err instanceof GatewayError && err.status === 401)) {
        this.#userLogout = false;
        throw err;
      }
    }
    if (this.#tokens) await this.#forget(this.#tokens.session_id).catch(() => {});
    clearTimeout(this.#timer);
    clearTimeout(this.#refreshTimer);
    this.#tokens = null;
    this.#emit("session", null);
    if (!this.#ws) {
      this.#setState(State.LOGGED_OUT, { reason: "logged out" });
      return;
    }
    // The server closes the socket with 4003; do not wait for ever.
    const ws = this.#ws;
    setTimeout(() => {
      if (this.#ws === ws) {
        this.#dropSocket(1000, "logged out");
        this.#setState(State.LOGGED_OUT, { reason: "logged out" });
      }
    }, 3000);
  }

  // ---- HTTP ----

  // #authed makes an HTTP call with the access token, refreshing once if it
  // has expired; it resolves with the JSON body (null for 204).
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

  // #fetch makes an HTTP call bounded by requestTimeout and resolves with
  // its JSON body (null when there is none). Failures are GatewayErrors:
  // the status and the contract's code, or status 0 with "timeout" or
  // "network_error".
  async #fetch(method, path, token, body) {
    const headers = {};
    if (token) headers.Authorization = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const ms = this.#opts.requestTimeout;
    let res, text;
    try {
      res = await fetch(this.#base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
        signal: AbortSignal.timeout(ms),
      });
      text = await res.text();
    } catch (err) {
      if (err?.name === "TimeoutError" || err?.name === "AbortError") {
        throw new GatewayError(0, "timeout", `${method} ${path}: no answer within ${ms} ms`);
      }
      throw new GatewayError(0, "network_error", `${method} ${path}: ${err?.message || err}`);
    }
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // not JSON
    }
    if (res.ok) return json;
    throw new GatewayError(
      res.status,
      json?.error?.code || "http_" + res.status,
      json?.error?.message || res.statusText,
      Number(res.headers.get("Retry-After")) || 0,
    );
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
  // the Web Locks API where available (secure contexts), else a
  // localStorage lease. A holder makes at most two HTTP calls, each bounded
  // by requestTimeout, so waiting longer than three of them means something
  // is wrong: it then rejects with "lock_timeout" (retried like a network
  // error) rather than risk presenting a refresh token another tab rotated.
  #withLock(fn) {
    const name = this.#key + ":lock";
    const wait = 3 * this.#opts.requestTimeout;
    if (!globalThis.navigator?.locks?.request) return leaseLock(name, fn, wait);
    const signal = AbortSignal.timeout(wait);
    return navigator.locks.request(name, { signal }, fn).catch((err) => {
      // The signal only counts while waiting: after that, fn's own errors.
      if (signal.aborted && (err?.name === "TimeoutError" || err?.name === "AbortError")) {
        throw new GatewayError(0, "lock_timeout", `the session lock was not free within ${wait} ms`);
      }
      throw err;
    });
  }

  #nextID() {
    return `${this.#idPrefix}-${++this.#seq}`;
  }

  #setState(state, extra = {}) {
    const prev = this.#state;
    this.#state = state;
    if (state === State.CONNECTED) {
      this.#settleReady((w) => w.resolve(this.session));
    } else if (state === State.LOGGED_OUT || state === State.CLOSED) {
      const err = new GatewayError(0, state, extra.reason || "the client is " + state);
      this.#settleReady((w) => w.reject(err));
    }
    if (prev === state && state !== State.RECONNECTING && !extra.code) return;
    this.#emit("state", { state, prev, ...extra });
  }

  #settleReady(fn) {
    const ws = [...this.#readyWaiters];
    this.#readyWaiters.clear();
    for (const w of ws) {
      clearTimeout(w.timer);
      fn(w);
    }
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
// localStorage of at most wait ms, written, then confirmed after a short
// pause. Waiting longer than wait rejects with "lock_timeout".
async function leaseLock(name, fn, wait) {
  const me = Math.random().toString(36).slice(2);
  const pause = (ms) => new Promise((r) => setTimeout(r, ms));
  const lease = () => {
    try {
      return JSON.parse(localStorage.getItem(name) || "null");
    } catch {
      return null;
    }
  };
  const deadline = Date.now() + wait;
  while (Date.now() < deadline) {
    const cur = lease();
    if (!cur || cur.until < Date.now()) {
      localStorage.setItem(name, JSON.stringify({ me, until: Date.now() + wait }));
      await pause(50);
      if (lease()?.me === me) {
        try {
          return await fn();
        } finally {
          // Only our own lease: if it ran out, another tab may hold it now.
          if (lease()?.me === me) localStorage.removeItem(name);
        }
      }
    }
    await pause(100 + Math.random() * 100);
  }
  throw new GatewayError(0, "lock_timeout", `the session lock was not free within ${wait} ms`);
}
