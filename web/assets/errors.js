// errors.js: the client's error type, and what every error code of the
// gateway (HTTP, socket, chat rooms and Big Two tables) and of the client
// itself means, in words a player understands.

/** GatewayError is every failure the client reports. */
export class GatewayError extends Error {
  /**
   * @param {number} status the HTTP status; 0 for socket replies and local failures
   * @param {string} code the contract's error code, or the client's own
   * @param {string} [message] the server's message, for developers
   * @param {number} [retryAfter] seconds, from Retry-After on 429/503
   */
  constructor(status, code, message, retryAfter = 0) {
    super(message || code);
    this.name = "GatewayError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/**
 * What each error code means, as a sentence for a player. Codes come from
 * the HTTP API, error frames (the gateway's, the chat rooms' and the Big
 * Two tables'), and the client itself.
 * @type {Readonly<Record<string, string>>}
 */
export const errorWords = Object.freeze({
  // HTTP API
  missing_token: "You are not logged in.",
  invalid_token: "Your login was not accepted.",
  token_expired: "Your login expired.",
  session_revoked: "You were logged out.",
  session_expired: "Your session expired.",
  refresh_token_reused: "Your session was ended for safety: it was used from two places at once.",
  invalid_request: "The server did not understand the request.",
  rate_limited: "Too many tries: wait a moment.",
  not_found: "Not found.",
  method_not_allowed: "The server does not allow that.",
  forbidden: "You may not do that.",
  draining: "The server is restarting: try again in a moment.",
  upgrade_required: "This page needs a WebSocket connection.",
  origin_not_allowed: "This page is not allowed to connect to that server.",
  too_many_pending: "Too many connections are starting from your address: wait a moment.",
  too_many_sockets: "Too many connections from your address.",
  // socket
  bad_request: "The server did not understand that.",
  unknown_type: "The server does not know that request.",
  already_authenticated: "Already logged in on this connection.",
  session_mismatch: "That login belongs to another session.",
  store_unavailable: "The server cannot reach its session store: try again.",
  unavailable: "That room or table cannot be reached right now: try again.",
  // chat rooms
  not_in_room: "You are not in that chat.",
  bad_room: "Names are 1 to 64 letters, digits, dashes and underscores.",
  too_many_rooms: "You are in too many chats and tables: leave one first.",
  room_full: "That chat is full.",
  room_limit_reached: "The server is full: join an existing table.",
  // Big Two tables
  bad_table: "Table names are 1 to 64 letters, digits, dashes and underscores.",
  table_full: "That table is full.",
  game_in_progress: "A hand is being played at that table: wait for it to end.",
  not_seated: "You are not sitting at this table.",
  not_enough_players: "Four players are needed, or fill the empty seats with bots.",
  no_game: "No hand is being played at this table.",
  not_your_turn: "It is not your turn.",
  invalid_cards: "Those are not cards of this game.",
  cards_not_in_hand: "You do not have those cards.",
  invalid_combination: "Those cards are no combination: play a single, a pair, a triple or five cards.",
  does_not_beat: "That does not beat the cards on the table: play as many cards, higher.",
  must_play_3d: "The first play of the game must include the 3♦.",
  cannot_pass_on_lead: "You lead this trick: play any combination, you cannot pass.",
  // the client's own
  timeout: "The server did not answer in time.",
  network_error: "The server cannot be reached.",
  lock_timeout: "Another tab is busy with the session: try again.",
  not_connected: "Not connected right now.",
  logged_out: "You are logged out.",
  closed: "The connection is closed.",
});

/**
 * describeError is the sentence for an error: a GatewayError, an error
 * frame's data ({code, message}), or a bare code. Unknown codes fall back
 * to the server's message, then to the code.
 * @param {GatewayError | {code?: string, message?: string} | string | null | undefined} err
 * @returns {string}
 */
export function describeError(err) {
  if (!err) return "Something went wrong.";
  if (typeof err === "string") return errorWords[err] ?? err;
  const code = err.code ?? "";
  return errorWords[code] ?? (err.message || code || "Something went wrong.");
}
