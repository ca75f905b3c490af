// view.js: what the game page shows, as pure functions of what the server
// said (the latest game.state, game.hand and game.over of a table, the
// game.list), who the player is, what they selected and the time. The page
// (game.js) only turns these view models into elements; node --test checks
// them (web/test/view.test.js).
import { cardLabel, cardName, isRed, sortCards } from "./cards.js";
import { beats, classify, comboName, describePlay } from "./combos.js";

/**
 * @typedef {{player_id: string, username: string}} Player
 * @typedef {{seat: number, player: Player | null, bot: boolean, away: boolean, cards: number, score: number}} SeatState
 * @typedef {{seat: number, cards: string[], combo: string}} TrickState
 * @typedef {object} TableState the data of game.state
 * @property {string} table
 * @property {"waiting" | "playing"} status
 * @property {number} hand_no
 * @property {SeatState[]} seats
 * @property {number | null} turn
 * @property {number | null} leader
 * @property {TrickState | null} current
 * @property {number} passes
 * @property {boolean} first_trick
 * @property {string | null} turn_deadline
 * @typedef {{table: string, winner: number, penalties: number[], scores: number[], hands: string[][]}} GameOver the data of game.over
 * @typedef {{table: string, seated: number, status: string}} TableListing one table of game.list
 */

/** Where a seat sits on the screen, from the player's point of view. */
export const POSITIONS = /** @type {const} */ (["me", "left", "across", "right"]);

/**
 * @typedef {object} SeatView
 * @property {number} seat
 * @property {typeof POSITIONS[number]} pos
 * @property {string} name
 * @property {boolean} empty
 * @property {boolean} you
 * @property {boolean} bot a bot plays this seat (for this hand)
 * @property {boolean} away the player has no socket open
 * @property {number} cards
 * @property {string} cardsText "7 cards" while a hand is played, else ""
 * @property {number} score
 * @property {boolean} turn
 * @property {string[]} badges words shown by the name: "you", "bot", "away", "to play"
 */

/**
 * @typedef {object} CardView
 * @property {string} card the code, "3D"
 * @property {string} label "3♦"
 * @property {string} name "3 of diamonds"
 * @property {boolean} red
 * @property {boolean} selected
 */

/**
 * @typedef {object} TableView
 * @property {string} table
 * @property {string} role "watching", or "" when seated
 * @property {boolean} playing a hand is being played
 * @property {number} handNo
 * @property {number | null} mySeat the player's seat, null when watching
 * @property {boolean} botPlaysForMe the player's seat is played by a bot (stood up, or logged out elsewhere)
 * @property {SeatView[]} seats in POSITIONS order: me (or seat 0 for a watcher), left, across, right
 * @property {{cards: CardView[], name: string, by: string} | null} trick the current combination
 * @property {string} center what the middle says when there is no trick
 * @property {string} turnText whose turn, with the seconds left
 * @property {number | null} secondsLeft
 * @property {boolean} myTurn
 * @property {CardView[]} hand
 * @property {string} selectionText what the selected cards are, and whether they beat the table
 * @property {boolean} canPlay Play is worth trying: the player's turn, some cards selected
 * @property {boolean} canPass the player's turn and not on lead
 * @property {boolean} canDeal seated, no hand being played
 * @property {boolean} canSit not seated, a seat free, no hand being played
 * @property {boolean} canStand seated
 * @property {ResultView | null} result the last hand's result, until the next deal
 */

/**
 * @typedef {object} ResultView
 * @property {string} title "You won!" / "brave-otter won"
 * @property {{seat: number, name: string, you: boolean, winner: boolean, left: CardView[], penalty: number, score: number}[]} rows
 */

/**
 * seatName is what a seat is called: the player's name, "Bot" for a bot
 * seat, "Empty seat".
 * @param {SeatState | undefined} s
 */
export function seatName(s) {
  if (!s) return "Empty seat";
  if (s.player) return s.player.username;
  return s.bot ? `Bot ${s.seat + 1}` : "Empty seat";
}

/**
 * mySeat is the seat of player me at a table, or null.
 * @param {TableState | null | undefined} state
 * @param {string | null | undefined} me player_id
 * @returns {number | null}
 */
export function mySeat(state, me) {
  if (!state || !me) return null;
  const s = state.seats.find((x) => x.player?.player_id === me);
  return s ? s.seat : null;
}

/**
 * secondsLeft is how many whole seconds are left until deadline (RFC
 * 3339, server time) at server time now (ms), never below 0.
 * @param {string | null | undefined} deadline
 * @param {number} now
 * @returns {number | null}
 */
export function secondsLeft(deadline, now) {
  if (!deadline) return null;
  const t = Date.parse(deadline);
  if (Number.isNaN(t)) return null;
  return Math.max(0, Math.ceil((t - now) / 1000));
}

/**
 * @param {string} c
 * @param {ReadonlySet<string>} selected
 * @returns {CardView}
 */
function cardView(c, selected) {
  return { card: c, label: cardLabel(c), name: cardName(c), red: isRed(c), selected: selected.has(c) };
}

/**
 * @typedef {object} TableInput
 * @property {TableState} state the latest game.state
 * @property {string[] | null} hand the latest game.hand's cards
 * @property {GameOver | null} over the last game.over, while no new hand has been dealt
 * @property {TableState | null} [overState] the game.state the hand ended in (its seats name the result's rows; bots' seats are empty after)
 * @property {string | null} me the player's player_id
 * @property {ReadonlySet<string>} selected the selected cards
 * @property {number} now server time, ms
 * @property {boolean} busy a request of the player's is in flight, or the socket is down
 */

/**
 * tableView is everything the table shows.
 * @param {TableInput} input
 * @returns {TableView}
 */
export function tableView({ state, hand, over, overState, me, selected, now, busy }) {
  const seatNo = mySeat(state, me);
  const base = seatNo ?? 0;
  const playing = state.status === "playing";
  /** @type {SeatView[]} */
  const seats = POSITIONS.map((pos, i) => {
    const n = (base + i) % 4;
    const s = state.seats.find((x) => x.seat === n);
    const you = seatNo !== null && n === seatNo;
    const turn = playing && state.turn === n;
    const badges = [];
    if (you) badges.push("you");
    if (s?.bot) badges.push("bot");
    if (s?.away) badges.push("away");
    if (turn) badges.push("to play");
    return {
      seat: n,
      pos,
      name: seatName(s),
      empty: !s || (!s.player && !s.bot),
      you,
      bot: !!s?.bot,
      away: !!s?.away,
      cards: s?.cards ?? 0,
      cardsText: playing && s && (s.player || s.bot) ? `${s.cards} card${s.cards === 1 ? "" : "s"}` : "",
      score: s?.score ?? 0,
      turn,
      badges,
    };
  });
  const mine = seatNo !== null ? state.seats.find((x) => x.seat === seatNo) : undefined;
  const botPlaysForMe = !!mine?.bot;
  const myTurn = playing && seatNo !== null && state.turn === seatNo && !botPlaysForMe;
  const cards = sortCards(hand ?? []);
  const inHand = new Set(cards);
  const sel = new Set([...selected].filter((c) => inHand.has(c)));
  const left = playing ? secondsLeft(state.turn_deadline, now) : null;
  const turnSeat = state.turn !== null ? state.seats.find((x) => x.seat === state.turn) : undefined;

  let turnText = "";
  if (playing && state.turn !== null) {
    const who = myTurn ? "Your turn" : `${seatName(turnSeat)}'s turn`;
    const what = state.current === null ? (state.first_trick ? ": lead with the 3♦" : ": lead any combination") : "";
    turnText = who + what + (left !== null ? ` · ${left} s` : "");
  } else if (!playing) {
    turnText = seatNo === null ? "Waiting for the next hand" : "Waiting for a deal";
  }

  let trick = null;
  let center = "";
  if (state.current) {
    const by = state.seats.find((x) => x.seat === state.current?.seat);
    trick = {
      cards: sortCards(state.current.cards).map((c) => cardView(c, new Set())),
      name: describePlay(state.current.cards) ?? comboName(state.current.combo),
      by: seatNo !== null && state.current.seat === seatNo ? "You" : seatName(by),
    };
  } else if (playing) {
    center = state.leader !== null && state.leader === seatNo ? "You lead" : `${seatName(turnSeat)} leads`;
  } else {
    const seated = state.seats.filter((s) => s.player).length;
    center = `${seated} of 4 seated`;
  }

  let selectionText = "";
  if (sel.size > 0) {
    const picked = [...sel];
    const p = classify(picked);
    if (!p) selectionText = picked.length === 4 ? "Four cards are no combination" : "Not a combination";
    else {
      selectionText = describePlay(picked) ?? comboName(p.combo);
      const cur = state.current && classify(state.current.cards);
      if (cur && !beats(p, cur)) selectionText += " · does not beat the table";
      if (state.first_trick && !sel.has("3D")) selectionText += " · the first play must hold the 3♦";
    }
  }

  const seatedCount = state.seats.filter((s) => s.player || s.bot).length;
  return {
    table: state.table,
    role: seatNo === null ? "watching" : "",
    playing,
    handNo: state.hand_no,
    mySeat: seatNo,
    botPlaysForMe,
    seats,
    trick,
    center,
    turnText,
    secondsLeft: left,
    myTurn,
    hand: cards.map((c) => cardView(c, sel)),
    selectionText,
    canPlay: myTurn && sel.size > 0 && !busy,
    canPass: myTurn && state.current !== null && !busy,
    canDeal: !playing && seatNo !== null && !busy,
    canSit: !playing && seatNo === null && seatedCount < 4 && !busy,
    canStand: seatNo !== null && !busy,
    result: over && !playing ? resultView(over, overState ?? state, seatNo) : null,
  };
}

/**
 * resultView is the hand's result: who won, each seat's cards left,
 * penalty and score.
 * @param {GameOver} over
 * @param {TableState} state the table as the hand ended, for the seats' names
 * @param {number | null} seatNo
 * @returns {ResultView}
 */
export function resultView(over, state, seatNo) {
  const rows = [0, 1, 2, 3].map((n) => {
    const s = state.seats.find((x) => x.seat === n);
    return {
      seat: n,
      name: seatName(s),
      you: n === seatNo,
      winner: n === over.winner,
      left: sortCards(over.hands?.[n] ?? []).map((c) => cardView(c, new Set())),
      penalty: over.penalties?.[n] ?? 0,
      score: over.scores?.[n] ?? 0,
    };
  });
  const w = rows[over.winner];
  return { title: w?.you ? "You won the hand!" : `${w?.name ?? "Someone"} won the hand`, rows };
}

/**
 * @typedef {object} ListingView
 * @property {string} table
 * @property {string} text "2 of 4 seated · waiting"
 * @property {boolean} canSit
 * @property {boolean} mine the player sits there
 */

/**
 * lobbyTables orders game.list's tables for the lobby: the player's own
 * first, then those with a free seat and no hand, then the rest, by name.
 * @param {TableListing[]} tables
 * @param {ReadonlySet<string>} mine tables where the player sits
 * @returns {ListingView[]}
 */
export function lobbyTables(tables, mine) {
  /** @param {TableListing} t */
  const rank = (t) => (mine.has(t.table) ? 0 : t.status !== "playing" && t.seated < 4 ? 1 : 2);
  return [...tables]
    .sort((a, b) => rank(a) - rank(b) || a.table.localeCompare(b.table))
    .map((t) => ({
      table: t.table,
      text: `${t.seated} of 4 seated · ${t.status === "playing" ? "playing" : "waiting"}`,
      canSit: mine.has(t.table) || (t.status !== "playing" && t.seated < 4),
      mine: mine.has(t.table),
    }));
}

/**
 * playNowTables are the tables "Play now" tries, in order: one named
 * after the player, then numbered ones, each a valid table name.
 * @param {string} username
 * @returns {string[]}
 */
export function playNowTables(username) {
  const base = (username.replace(/[^A-Za-z0-9_-]/g, "") || "table").slice(0, 56);
  return [base, ...[2, 3, 4, 5].map((n) => `${base}-${n}`)];
}

/** A valid table (and room) name: 1-64 letters, digits, - and _. */
export const TABLE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * @typedef {object} ConnectionView
 * @property {string} status the status line: "connected", "reconnecting, retrying in 3 s", ...
 * @property {string} banner a sentence for the banner, "" when all is well
 * @property {"ok" | "wait" | "out"} tone
 * @property {boolean} canLogin the "Play again" button: logged out or stopped
 */

/**
 * connectionView says how the connection is, in words a player
 * understands.
 * @param {string} state the client's state
 * @param {number | null} retryAt local ms of the next attempt (reconnecting)
 * @param {number} now local ms
 * @param {string} [why] what closed the socket, in words (not repeated when logged out)
 * @returns {ConnectionView}
 */
export function connectionView(state, retryAt, now, why = "") {
  switch (state) {
    case "connected":
      return { status: "connected", banner: "", tone: "ok", canLogin: false };
    case "reconnecting": {
      const s = retryAt ? Math.max(0, Math.ceil((retryAt - now) / 1000)) : 0;
      const when = s > 0 ? `retrying in ${s} s` : "retrying now";
      return {
        status: `reconnecting, ${when}`,
        banner: `${why ? why + " " : ""}Reconnecting: ${when}.`,
        tone: "wait",
        canLogin: false,
      };
    }
    case "logged_out":
      return { status: "logged out", banner: "You are logged out.", tone: "out", canLogin: true };
    case "closed":
      return { status: "stopped", banner: `${why ? why + " " : ""}The connection is stopped.`, tone: "out", canLogin: true };
    case "idle":
      return { status: "starting", banner: "", tone: "wait", canLogin: false };
    default:
      return { status: "connecting…", banner: "Connecting…", tone: "wait", canLogin: false };
  }
}
