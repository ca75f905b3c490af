// api.js: the gateway's HTTP API (POST /session, POST /session/refresh,
// DELETE /session, GET and DELETE /sessions). Every call is bounded by a
// timeout; every failure is a GatewayError with the HTTP status and the
// contract's error code. It keeps no state: the tokens are the caller's.
import { GatewayError } from "./errors.js";

/**
 * The session body of POST /session and POST /session/refresh.
 * @typedef {object} SessionBody
 * @property {string} session_id
 * @property {string} player_id
 * @property {string} username
 * @property {string} token
 * @property {string} expires_at
 * @property {string} refresh_token
 * @property {string} session_expires_at
 */

/**
 * One session of GET /sessions.
 * @typedef {object} SessionInfo
 * @property {string} session_id
 * @property {string} created_at
 * @property {string} last_seen_at
 * @property {string} expires_at
 * @property {string} [ip]
 * @property {string} [user_agent]
 * @property {boolean} [current]
 */

/** Api calls the HTTP API of one gateway. */
export class Api {
  #base;
  #timeout;

  /**
   * @param {string} base the gateway's http(s) origin
   * @param {number} timeout ms before a call rejects with "timeout"
   */
  constructor(base, timeout) {
    this.#base = base;
    this.#timeout = timeout;
  }

  /**
   * createSession makes a new player and session (POST /session).
   * @returns {Promise<SessionBody>}
   */
  createSession() {
    return this.call("POST", "/session");
  }

  /**
   * refresh rotates both tokens (POST /session/refresh).
   * @param {string} refreshToken
   * @returns {Promise<SessionBody>}
   */
  refresh(refreshToken) {
    return this.call("POST", "/session/refresh", undefined, { refresh_token: refreshToken });
  }

  /**
   * sessions lists the player's active sessions (GET /sessions).
   * @param {string} token
   * @returns {Promise<SessionInfo[]>}
   */
  async sessions(token) {
    return (await this.call("GET", "/sessions", token)).sessions;
  }

  /**
   * logout revokes the token's session (DELETE /session), or every session
   * of its player when everywhere is set (DELETE /sessions).
   * @param {string} token
   * @param {boolean} [everywhere]
   * @returns {Promise<void>}
   */
  async logout(token, everywhere = false) {
    await this.call("DELETE", everywhere ? "/sessions" : "/session", token);
  }

  /**
   * call makes an HTTP call bounded by the timeout and resolves with its
   * JSON body (null when there is none). Failures are GatewayErrors: the
   * status and the contract's code, or status 0 with "timeout" or
   * "network_error".
   * @param {string} method
   * @param {string} path
   * @param {string} [token] sent as a Bearer token
   * @param {unknown} [body] sent as JSON
   * @returns {Promise<any>}
   */
  async call(method, path, token, body) {
    /** @type {Record<string, string>} */
    const headers = {};
    if (token) headers.Authorization = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const ms = this.#timeout;
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
      const e = /** @type {Error | undefined} */ (err);
      if (e?.name === "TimeoutError" || e?.name === "AbortError") {
        throw new GatewayError(0, "timeout", `${method} ${path}: no answer within ${ms} ms`);
      }
      throw new GatewayError(0, "network_error", `${method} ${path}: ${e?.message || err}`);
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
}
