// socket.js: GatewayClient, the client's state machine. It owns one
// authenticated WebSocket at a time: it restores or creates the session
// (tokens.js, api.js), refreshes the tokens before they expire (HTTP, then
// `auth.refresh` on the open socket), connects with the subprotocol auth
// path (never the token in the URL), reconnects with backoff and jitter
// (timing.js) as each close code asks (closecodes.js), detects dead sockets
// with application pings, and emits events.
//
// See docs/CLIENT.md for the events and states.
import { Api } from "./api.js";
import { CloseAction, closeAction } from "./closecodes.js";
import { GatewayError } from "./errors.js";
import { backoff, clockOffset, expiresSoon, refreshDelay, refreshDue } from "./timing.js";
import { TokenStore } from "./tokens.js";

/** @typedef {import("./timing.js").StoredSession} StoredSession */
/** @typedef {import("./api.js").SessionBody} SessionBody */
/** @typedef {import("./api.js").SessionInfo} SessionInfo */

/**
 * A frame of the protocol: `{type, id?, data?}`.
 * @typedef {object} Frame
 * @property {string} type
 * @property {string | number} [id]
 * @property {any} [data]
 */

/**
 * The identity of the current session.
 * @typedef {object} Identity
 * @property {string} session_id
 * @property {string} player_id
 * @property {string} username
 * @property {string} expires_at
 * @property {string} session_expires_at
 */

/**
 * The detail of a "state" event.
 * @typedef {object} StateChange
 * @property {StateName} state
 * @property {StateName} [prev]
 * @property {number} [code] the close code that caused it
 * @property {string} [reason]
 * @property {number} [delay] ms before the next attempt (reconnecting)
 */

/** Connection states, in the order a healthy client goes through them. */
export const State = Object.freeze({
  IDLE: "idle", // not started
  CONNECTING: "connecting", // getting a session or opening/authenticating the socket
  CONNECTED: "connected", // the socket is authenticated (after `welcome`)
  RECONNECTING: "reconnecting", // waiting before the next attempt (detail.delay ms; also after 4008)
  LOGGED_OUT: "logged_out", // no usable session: logout, revocation, auth refused; start() again
  CLOSED: "closed", // close() was called, or the server closed with 1002/1007/1009 (not retried)
});

/** @typedef {typeof State[keyof typeof State]} StateName */

const SUBPROTOCOL = "bigtwo.v1";

// MAX_AUTH_FAILURES is how many 4001/4004 closes in a row (each followed by a
// refresh) end in logged_out instead of another attempt.
const MAX_AUTH_FAILURES = 3;
// STABLE_AFTER is how long (ms) a socket must stay up before the reconnect
// backoff starts again from its first step.
const STABLE_AFTER = 30000;
// LOGOUT_WAIT is how long (ms) a logout waits for the server's 4003 before
// dropping the socket itself.
const LOGOUT_WAIT = 3000;

/**
 * GatewayClient is an EventTarget. Events (all CustomEvent, payload in
 * `detail`): "state" {state, prev, code, reason, delay}, "session" (the
 * identity after new tokens, or null), "welcome", "frame" (every frame),
 * one event per frame type ("room.message", "game.state", "error", ...),
 * "close" {code, reason}, "warning" {message, error, delay}. `on(type, fn)`
 * is a shortcut that passes `detail` and returns an unsubscribe function.
 */
export class GatewayClient extends EventTarget {
  #base;
  #opts;
  #store;
  #api;
  /** @type {StoredSession | null} the stored session in use */
  #tokens = null;
  /** @type {StateName} */
  #state = State.IDLE;
  /** @type {WebSocket | null} */
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
  /** @type {Set<{resolve: (s: Identity | null) => void, reject: (e: GatewayError) => void, timer: number}>} */
  #readyWaiters = new Set();
  /** @type {Promise<boolean> | null} the refresh in flight, shared by callers */
  #refreshing = null;
  #userLogout = false;
  /** @type {{code: number, reason: string} | null} the close seen while logging out */
  #logoutClose = null;
  #seq = 0;
  #idPrefix = Math.random().toString(36).slice(2, 8);
  /** @type {Map<string | number, {resolve: (f: Frame) => void, reject: (e: GatewayError) => void, timer: number}>} */
  #pending = new Map();
  #onStorage = (/** @type {StorageEvent} */ e) => this.#storageChanged(e);
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
    this.#opts = {
      autoCreate: opts.autoCreate ?? true,
      minBackoff: opts.minBackoff ?? 500,
      maxBackoff: opts.maxBackoff ?? 30000,
      requestTimeout: opts.requestTimeout ?? 10000,
      pingInterval: opts.pingInterval ?? 25000,
      pingTimeout: opts.pingTimeout ?? 10000,
    };
    // A lock holder makes at most two HTTP calls: waiting longer than three
    // of them means something is wrong.
    this.#store = new TokenStore(opts.storageKey || "bigtwo.session:" + this.#base, 3 * this.#opts.requestTimeout);
    this.#api = new Api(this.#base, this.#opts.requestTimeout);
  }

  /** The current state, one of State. */
  get state() {
    return this.#state;
  }

  /**
   * The identity of the current session, or null.
   * @returns {Identity | null}
   */
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

  /**
   * serverNow is the server's clock as well as this client can tell (ms):
   * the local clock corrected by the offset the access token shows. Use it
   * for deadlines the server sends (a turn's).
   * @returns {number}
   */
  serverNow() {
    return Date.now() - clockOffset(this.#tokens);
  }

  /**
   * on subscribes fn(detail) to an event and returns the unsubscribe function.
   * @param {string} type
   * @param {(detail: any) => void} fn
   * @returns {() => void}
   */
  on(type, fn) {
    const h = (/** @type {Event} */ e) => fn(/** @type {CustomEvent} */ (e).detail);
    this.addEventListener(type, h);
    return () => this.removeEventListener(type, h);
  }

  /**
   * start restores the stored session (or creates one) and connects. It
   * resolves once a connection attempt is under way, not when connected:
   * `await client.ready()` for that, or watch "state". Calling it while the
   * client is already running does nothing.
   * @returns {Promise<void>}
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
      let stored = await this.#store.read();
      if (!stored && (stored = this.#store.peek())) {
        // Only in the mirror (put there by hand or an older client): keep it.
        await this.#store.put(stored);
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
   * @param {number} [timeout]
   * @returns {Promise<Identity | null>}
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
   * @param {string} type
   * @param {unknown} [data]
   * @param {string | number} [id]
   * @returns {string | number | null}
   */
  send(type, data, id) {
    if (this.#state !== State.CONNECTED || !this.#ws) return null;
    const fid = id ?? this.#nextID();
    /** @type {Frame} */
    const f = { type, id: fid };
    if (data !== undefined) f.data = data;
    this.#ws.send(JSON.stringify(f));
    return fid;
  }

  /**
   * request sends a frame and resolves with the first frame that carries
   * its id; an error frame rejects with a GatewayError (status 0). The
   * server may send several frames with the request's id (game.played,
   * game.state and game.hand answer one game.play): every one of them is
   * still dispatched as an event.
   * @param {string} type
   * @param {unknown} [data]
   * @returns {Promise<Frame>}
   */
  request(type, data) {
    return this.#request(type, data, this.#opts.requestTimeout);
  }

  /**
   * @param {string} type
   * @param {unknown} data
   * @param {number} timeout
   * @returns {Promise<Frame>}
   */
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

  /**
   * sessions lists this player's active sessions (GET /sessions).
   * @returns {Promise<SessionInfo[]>}
   */
  sessions() {
    return this.#authed((token) => this.#api.sessions(token));
  }

  /**
   * logout revokes this session (DELETE /session); every tab of the browser
   * ends logged_out. If the server could not be told (network error,
   * timeout, 5xx, 429) it rejects and keeps the session, so the caller can
   * retry; a 401 means the session is already gone and counts as done.
   * @returns {Promise<void>}
   */
  async logout() {
    await this.#logout(false);
  }

  /**
   * logoutEverywhere revokes every session of the player (DELETE /sessions), like logout.
   * @returns {Promise<void>}
   */
  async logoutEverywhere() {
    await this.#logout(true);
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
   * @returns {Promise<boolean>}
   */
  refresh() {
    return this.#refresh(false);
  }

  // #refresh shares one refresh between callers. With ifDue set (timers,
  // session.expiring) it calls the server only when the stored tokens are
  // due, so tabs that just picked up fresh tokens do not rotate them again.
  /**
   * @param {boolean} ifDue
   * @returns {Promise<boolean>}
   */
  #refresh(ifDue) {
    if (!this.#refreshing) {
      this.#refreshing = this.#refreshLocked(ifDue).finally(() => {
        this.#refreshing = null;
      });
    }
    return this.#refreshing;
  }

  // ---- session and tokens ----

  /**
   * @param {boolean} ifDue
   * @returns {Promise<boolean>}
   */
  async #refreshLocked(ifDue) {
    const mine = this.#tokens;
    return this.#store.withLock(async () => {
      const cur = await this.#store.read();
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
      if (ifDue && !refreshDue(cur, Date.now())) return true;
      let body;
      try {
        body = await this.#api.refresh(cur.refresh_token);
      } catch (err) {
        if (err instanceof GatewayError && err.status === 401) {
          return this.#sessionDead(err);
        }
        throw err;
      }
      this.stats.refreshes++;
      this.#adopt(await this.#store.save(body, (cur.generation || 0) + 1), true);
      return true;
    });
  }

  // #sessionDead handles a 401 from refresh: a revoked session (or a reused
  // refresh token, which revokes it) stays logged out; an unknown or expired
  // one is replaced by a new session when autoCreate is on.
  /**
   * @param {GatewayError} err
   * @returns {Promise<boolean>}
   */
  async #sessionDead(err) {
    // Called with the lock held.
    const cur = await this.#store.read();
    if (cur && cur.session_id === this.#tokens?.session_id) await this.#store.clear();
    if (err.code === "session_revoked" || err.code === "refresh_token_reused" || !this.#opts.autoCreate) {
      this.#lost(err.code);
      return false;
    }
    this.#tokens = null;
    await this.#createSessionLocked();
    return true;
  }

  async #createSession() {
    await this.#store.withLock(async () => {
      const cur = await this.#store.read();
      if (cur) {
        this.#adopt(cur, false); // another tab made one meanwhile
        return;
      }
      await this.#createSessionLocked();
    });
  }

  async #createSessionLocked() {
    const body = await this.#api.createSession();
    this.#adopt(await this.#store.save(body), false);
  }

  // #adopt makes t the current tokens, schedules the next refresh and, when
  // inBand is set and the socket is authenticated, sends auth.refresh.
  /**
   * @param {StoredSession} t
   * @param {boolean} inBand
   */
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
    this.#refreshTimer = setTimeout(() => this.#refreshInBackground(), refreshDelay(t, Date.now()));
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

  /** @param {StorageEvent} e */
  #storageChanged(e) {
    if (e.storageArea !== globalThis.localStorage || e.key !== this.#store.key) return;
    if (this.#state === State.CLOSED || this.#state === State.IDLE) return;
    const t = this.#store.peek();
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
      if (expiresSoon(this.#tokens, Date.now()) && !(await this.refresh())) return;
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

  /**
   * @param {WebSocket} ws
   * @param {unknown} raw
   */
  #frame(ws, raw) {
    if (ws !== this.#ws) return;
    /** @type {Frame} */
    let f;
    try {
      f = JSON.parse(String(raw));
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
        if (refreshDue(this.#tokens, Date.now())) this.#refreshInBackground();
        else if (this.#tokens) this.send("auth.refresh", { token: this.#tokens.token });
        break;
      case "ping":
        this.send("pong", undefined, f.id);
        break;
    }
    // The first frame with a request's id settles it; later ones with the
    // same id (game.state after game.played) are events like any other.
    const p = f.id !== undefined ? this.#pending.get(f.id) : undefined;
    if (p && f.id !== undefined) {
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

  /**
   * @param {WebSocket} ws
   * @param {number} code
   * @param {string} reason
   */
  #closed(ws, code, reason) {
    if (ws !== this.#ws) return;
    this.#dropSocket();
    this.#emit("close", { code, reason });
    if (this.#state === State.CLOSED) return;
    if (this.#userLogout) {
      // The user is logging out (this is the server's 4003, or the network).
      // The state says logged_out once the stored session is forgotten;
      // until then #logout decides, and retries the socket if it fails.
      this.#logoutClose = { code, reason };
      if (!this.#tokens) this.#setState(State.LOGGED_OUT, { code, reason });
      return;
    }
    switch (closeAction(code)) {
      case CloseAction.LOG_IN: {
        const cur = this.#store.peek();
        if (cur && this.#tokens && cur.session_id !== this.#tokens.session_id) {
          this.#adopt(cur, false); // another tab already has a new session
          this.#connect();
          return;
        }
        if (this.#tokens) this.#store.forget(this.#tokens.session_id);
        this.#lost(reason || "session revoked", code);
        return;
      }
      case CloseAction.WAIT_LONG:
        // The player has too many sockets (other tabs, devices); ours stay
        // open. Keep the session and try again after the longest backoff.
        this.#retryLater(null, code, reason || "too many sockets for this player", this.#backoff(Infinity));
        return;
      case CloseAction.REFRESH:
        if (++this.#authFailures < MAX_AUTH_FAILURES) {
          this.#setState(State.CONNECTING, { code, reason });
          this.refresh().then(
            (ok) => {
              if (ok) this.#connect();
            },
            (err) => this.#retryLater(err, code, reason),
          );
          return;
        }
        // Fresh tokens are refused too: stop instead of looping. The stored
        // session is kept; start() tries it again.
        this.#lost(`authentication failed ${MAX_AUTH_FAILURES} times` + (reason ? ": " + reason : ""), code);
        return;
      case CloseAction.STOP:
        // We sent something the server cannot take: retrying would do it
        // again. The session is kept; start() connects again.
        this.#teardown();
        this.#setState(State.CLOSED, { code, reason: reason || "closed by the server" });
        return;
    }
    this.#retryLater(null, code, reason);
  }

  // #retryLater schedules the next attempt after the backoff, Retry-After
  // and minDelay (ms), whichever is longest.
  /**
   * @param {unknown} err
   * @param {number} [code]
   * @param {string} [reason]
   * @param {number} [minDelay]
   */
  #retryLater(err, code, reason, minDelay = 0) {
    if (this.#state === State.CLOSED || this.#state === State.LOGGED_OUT) return;
    this.#attempt++;
    const wait = this.#backoff(this.#attempt);
    let delay = Math.max(wait, minDelay);
    if (err instanceof GatewayError && err.retryAfter) delay = Math.max(delay, err.retryAfter * 1000);
    // Coming back online may cut a backoff short, not a delay the server asked for.
    this.#notBefore = delay > wait ? Date.now() + delay : 0;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#connectOrStart(), delay);
    const why = reason || (err instanceof Error ? err.message : undefined);
    this.#setState(State.RECONNECTING, { code, reason: why, delay });
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

  /** @param {number} n */
  #backoff(n) {
    return backoff(n, { min: this.#opts.minBackoff, max: this.#opts.maxBackoff });
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

  /**
   * @param {number} [code]
   * @param {string} [reason]
   */
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
  /**
   * @param {string} reason
   * @param {number} [code]
   */
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
  /** @param {boolean} everywhere */
  async #logout(everywhere) {
    this.#userLogout = true;
    this.#logoutClose = null;
    try {
      if (expiresSoon(this.#tokens, Date.now())) await this.refresh().catch(() => false);
      await this.#authed((token) => this.#api.logout(token, everywhere));
    } catch (err) {
      if (!(err instanceof GatewayError && err.status === 401)) {
        this.#userLogout = false;
        // Still logged in: a socket that closed meanwhile is retried.
        const c = this.#closeDuringLogout();
        if (c && !this.#ws) this.#retryLater(null, c.code, c.reason);
        throw err;
      }
    }
    if (this.#tokens) await this.#store.forget(this.#tokens.session_id).catch(() => {});
    clearTimeout(this.#timer);
    clearTimeout(this.#refreshTimer);
    this.#tokens = null;
    this.#emit("session", null);
    if (!this.#ws) {
      this.#setState(State.LOGGED_OUT, { reason: "logged out", ...this.#closeDuringLogout() });
      return;
    }
    // The server closes the socket with 4003; do not wait for ever.
    const ws = this.#ws;
    setTimeout(() => {
      if (this.#ws === ws) {
        this.#dropSocket(1000, "logged out");
        this.#setState(State.LOGGED_OUT, { reason: "logged out" });
      }
    }, LOGOUT_WAIT);
  }

  // #closeDuringLogout is the close #closed saw while #logout was waiting
  // for the server (a method, so that the type checker does not take the
  // field for the null #logout set before its awaits).
  #closeDuringLogout() {
    return this.#logoutClose;
  }

  // ---- HTTP ----

  // #authed makes an HTTP call with the access token, refreshing once if it
  // has expired.
  /**
   * @template T
   * @param {(token: string) => Promise<T>} call
   * @returns {Promise<T>}
   */
  async #authed(call) {
    if (!this.#tokens) throw new GatewayError(401, "missing_token", "no session");
    try {
      return await call(this.#tokens.token);
    } catch (err) {
      if (err instanceof GatewayError && err.code === "token_expired" && (await this.refresh()) && this.#tokens) {
        return call(this.#tokens.token);
      }
      throw err;
    }
  }

  #nextID() {
    return `${this.#idPrefix}-${++this.#seq}`;
  }

  /**
   * @param {StateName} state
   * @param {{code?: number, reason?: string, delay?: number}} [extra]
   */
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

  /** @param {(w: {resolve: (s: Identity | null) => void, reject: (e: GatewayError) => void, timer: number}) => void} fn */
  #settleReady(fn) {
    const ws = [...this.#readyWaiters];
    this.#readyWaiters.clear();
    for (const w of ws) {
      clearTimeout(w.timer);
      fn(w);
    }
  }

  /**
   * @param {string} type
   * @param {unknown} detail
   */
  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
