// closecodes.js: what each WebSocket close code of the gateway means to the
// client, and what the client does about it. The table mirrors the close
// codes of docs/PROTOCOL.md (and the constants of gateway/errors.go);
// web/test/closecodes.test.js parses both and fails when they drift apart.

/** What the client does after a close. */
export const CloseAction = Object.freeze({
  /** reconnect after the backoff */
  RETRY: "retry",
  /** refresh the tokens (or use another tab's), then reconnect */
  REFRESH: "refresh",
  /** the session is gone: logged out */
  LOG_IN: "log_in",
  /** keep the session and try again after the longest backoff */
  WAIT_LONG: "wait_long",
  /** the client sent something the server cannot take: retrying would repeat it */
  STOP: "stop",
});

/**
 * @typedef {typeof CloseAction[keyof typeof CloseAction]} CloseActionName
 * @typedef {{action: CloseActionName, words: string}} CloseMeaning
 */

/**
 * Every close code of the contract, plus 1006 (never sent: the browser's
 * code for a connection that dropped without a close frame). `words` is
 * what a player is told.
 * @type {Readonly<Record<number, CloseMeaning>>}
 */
export const closeCodes = Object.freeze({
  1000: { action: CloseAction.RETRY, words: "The connection was closed." },
  1001: { action: CloseAction.RETRY, words: "The server is restarting." },
  1002: { action: CloseAction.STOP, words: "This page sent something the server does not understand." },
  1006: { action: CloseAction.RETRY, words: "The connection dropped." },
  1007: { action: CloseAction.STOP, words: "This page sent something the server does not understand." },
  1009: { action: CloseAction.STOP, words: "This page sent a message that is too large." },
  1011: { action: CloseAction.RETRY, words: "The server ran into a problem." },
  1013: { action: CloseAction.RETRY, words: "The server is busy." },
  4001: { action: CloseAction.REFRESH, words: "Your login was not accepted." },
  4002: { action: CloseAction.RETRY, words: "The connection took too long to log in." },
  4003: { action: CloseAction.LOG_IN, words: "You were logged out." },
  4004: { action: CloseAction.REFRESH, words: "Your login expired." },
  4008: { action: CloseAction.WAIT_LONG, words: "You have too many tabs or devices connected." },
  4029: { action: CloseAction.RETRY, words: "Too many messages too fast." },
});

/**
 * closeAction is what the client does after a socket closed with code.
 * Codes outside the contract are retried.
 * @param {number} code
 * @returns {CloseActionName}
 */
export function closeAction(code) {
  return closeCodes[code]?.action ?? CloseAction.RETRY;
}

/**
 * closeWords says in a sentence why a socket closed with code.
 * @param {number} code
 * @returns {string}
 */
export function closeWords(code) {
  return closeCodes[code]?.words ?? `The connection closed (${code}).`;
}
