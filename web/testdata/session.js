// session.js: stored sessions with readable (unsigned) tokens, for the node tests.

/**
 * fakeJWT is a token whose claims are readable (its signature is not).
 * @param {object} claims
 */
export function fakeJWT(claims) {
  const b64 = (/** @type {object} */ o) => btoa(JSON.stringify(o)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}.c2ln`;
}

/**
 * stored is a stored session received at receivedAt whose token lives ttl s.
 * @param {number} receivedAt ms
 * @param {number} ttl s
 * @param {number} [iat] s, default receivedAt
 */
export function stored(receivedAt, ttl, iat = Math.floor(receivedAt / 1000)) {
  return {
    session_id: "s",
    player_id: "p",
    username: "brave-otter",
    token: fakeJWT({ iat, exp: iat + ttl }),
    expires_at: new Date((iat + ttl) * 1000).toISOString(),
    refresh_token: "r",
    session_expires_at: new Date(receivedAt + 7 * 86400e3).toISOString(),
    received_at: receivedAt,
  };
}
