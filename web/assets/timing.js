// timing.js: the client's clock arithmetic, as pure functions of their
// inputs (no timers, no globals but atob): when tokens are due for a
// refresh, how long to back off before a reconnect, and how far the local
// clock is from the server's. node --test web/test/ checks them.

/**
 * A stored session: the session body of POST /session or
 * /session/refresh, plus when it was received and how often it rotated.
 * @typedef {object} StoredSession
 * @property {string} session_id
 * @property {string} player_id
 * @property {string} username
 * @property {string} token the access token (a JWT)
 * @property {string} expires_at the access token's expiry, RFC 3339
 * @property {string} refresh_token
 * @property {string} session_expires_at the refresh token's expiry, RFC 3339
 * @property {number} received_at local time (ms) the body was received
 * @property {number} [generation] how many refreshes made these tokens
 */

/**
 * The claims of a JWT, or null when token is not one we can read.
 * @param {string} token
 * @returns {{exp?: unknown, iat?: unknown} | null}
 */
export function jwtClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part));
    return claims && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

/**
 * tokenLifetime is the access token's lifetime in ms, from its own exp and
 * iat (immune to clock skew between browser and server), else from
 * expires_at and the local time the tokens were received.
 * @param {StoredSession} t
 * @returns {number}
 */
export function tokenLifetime(t) {
  const c = jwtClaims(t.token);
  if (c && typeof c.exp === "number" && typeof c.iat === "number" && c.exp > c.iat) {
    return (c.exp - c.iat) * 1000;
  }
  return Math.max(0, Date.parse(t.expires_at) - t.received_at);
}

/**
 * refreshAt is when tokens t are due for a refresh (local ms): 60 s before
 * expiry, or at 60 % of the life of shorter tokens.
 * @param {StoredSession} t
 * @returns {number}
 */
export function refreshAt(t) {
  const life = tokenLifetime(t);
  return t.received_at + life - Math.min(60000, life * 0.4);
}

/**
 * refreshDue reports whether t is due for a refresh at local time now,
 * with 10 % of its life to spare, so that the timer's jitter does not make
 * a due refresh look early. No tokens are always due.
 * @param {StoredSession | null} t
 * @param {number} now
 * @returns {boolean}
 */
export function refreshDue(t, now) {
  return !t || now >= refreshAt(t) - tokenLifetime(t) * 0.1;
}

/**
 * refreshDelay is how long (ms) to wait from now before refreshing t: until
 * refreshAt, less a random jitter of up to 5 % of the token's life (at most
 * 1 s) so that tabs and clients do not all refresh at the same instant.
 * @param {StoredSession} t
 * @param {number} now
 * @param {() => number} [random] a source in [0, 1)
 * @returns {number}
 */
export function refreshDelay(t, now, random = Math.random) {
  const jitter = random() * Math.min(1000, tokenLifetime(t) * 0.05);
  return Math.max(0, refreshAt(t) - jitter - now);
}

/**
 * expiresSoon reports whether t's access token expires within a second of
 * now (or there are no tokens): too late to use it for a new socket.
 * @param {StoredSession | null} t
 * @param {number} now
 * @returns {boolean}
 */
export function expiresSoon(t, now) {
  if (!t) return true;
  return now > t.received_at + tokenLifetime(t) - 1000;
}

/**
 * backoff is the delay (ms) before reconnect attempt n (1, 2, ...): a cap
 * of min(max, min·2^(n-1)), and a random delay in the upper half of it so
 * that many clients dropped together do not come back together.
 * backoff(Infinity, ...) is the longest delay.
 * @param {number} n
 * @param {{min: number, max: number}} limits ms
 * @param {() => number} [random] a source in [0, 1)
 * @returns {number}
 */
export function backoff(n, limits, random = Math.random) {
  const cap = Math.min(limits.max, limits.min * 2 ** Math.max(0, n - 1));
  return Math.round(cap / 2 + random() * (cap / 2));
}

/**
 * clockOffset estimates how far (ms) the local clock is ahead of the
 * server's, from the access token's iat (server time, whole seconds) and
 * when the tokens arrived (local time). Offsets under 2 s are within the
 * estimate's own error (iat's rounding, the request's latency) and count as
 * 0. Deadlines the server sends (a turn's) are shown as deadline + offset.
 * @param {StoredSession | null} t
 * @returns {number}
 */
export function clockOffset(t) {
  const c = t && jwtClaims(t.token);
  if (!t || !c || typeof c.iat !== "number") return 0;
  const off = t.received_at - c.iat * 1000;
  return Math.abs(off) < 2000 ? 0 : Math.round(off);
}
