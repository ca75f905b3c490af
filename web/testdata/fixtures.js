// fixtures.js: what the server says in a few moments of a game, as frames,
// for the node tests of view.js and for screenshots of the page
// (fixture.html?f=<name>). Each fixture is the frames a page would have
// received, in order, and what the player did since.

/** The player of every fixture. */
export const ME = { player_id: "p-me", username: "brave-otter-4821" };
const ANA = { player_id: "p-ana", username: "magnificent-salamander-9999" };
const BO = { player_id: "p-bo", username: "quick-fox-12" };

/**
 * @param {number} seat
 * @param {{player_id: string, username: string} | null} player
 * @param {object} [rest]
 */
const seat = (seat, player, rest = {}) => ({ seat, player, bot: !player, away: false, cards: 13, score: 0, ...rest });
const inSeconds = (/** @type {number} */ s) => new Date(Date.now() + s * 1000).toISOString();

const hand13 = ["3D", "4C", "5C", "5S", "7H", "8D", "9S", "TH", "JC", "QD", "KH", "AS", "2D"];

/**
 * @param {object} over fields of game.state to change
 */
function state(over) {
  return {
    table: "brave-otter-4821",
    status: "playing",
    hand_no: 1,
    seats: [seat(0, ME), seat(1, null), seat(2, ANA), seat(3, null)],
    turn: 0,
    leader: 0,
    current: null,
    passes: 0,
    first_trick: true,
    turn_deadline: inSeconds(27),
    ...over,
  };
}

/**
 * @typedef {object} Fixture
 * @property {string} title
 * @property {object[]} frames as the server sent them
 * @property {string[]} [selected] cards the player selected
 * @property {string} [notice] an error code the last request got
 * @property {{state: string, delay?: number, code?: number}} [connection] the client's state at the end
 * @property {object} [list] the game.list answer
 * @property {string} [table] the table in view (sessionStorage), else the lobby
 */

const list = {
  tables: [
    { table: "friday-night", seated: 3, status: "waiting" },
    { table: "quick-fox-12", seated: 4, status: "playing" },
    { table: "a-table-with-a-rather-long-name-to-see-how-it-wraps-0123456789", seated: 1, status: "waiting" },
    { table: "lunch", seated: 2, status: "playing" },
  ],
  total: 4,
};

const chat = [
  { type: "room.joined", data: { room: "brave-otter-4821", members: [ME, ANA] } },
  { type: "room.message", data: { room: "brave-otter-4821", from: ANA, text: "good luck! <img src=x onerror=\"window.pwned=1\">" } },
  { type: "room.message", data: { room: "brave-otter-4821", from: ME, text: "you too" } },
];

/** @type {Record<string, Fixture>} */
export const fixtures = {
  lobby: {
    title: "The lobby: tables and chat",
    list,
    frames: [
      { type: "room.joined", data: { room: "lobby", members: [ME, ANA, BO] } },
      { type: "room.message", data: { room: "lobby", from: BO, text: "anyone for a game at friday-night?" } },
      { type: "room.message", data: { room: "lobby", from: ANA, text: "<b>me</b> — in a minute" } },
    ],
  },
  "first-lead": {
    title: "The first trick: your lead, with the 3♦",
    table: "brave-otter-4821",
    frames: [...chat, { type: "game.state", data: state({}) }, { type: "game.hand", data: { table: "brave-otter-4821", cards: hand13 } }],
    selected: ["3D"],
  },
  follow: {
    title: "Your turn to beat a pair; two cards selected",
    table: "brave-otter-4821",
    frames: [
      ...chat,
      {
        type: "game.state",
        data: state({
          first_trick: false,
          turn: 0,
          leader: 2,
          passes: 1,
          current: { seat: 2, cards: ["6D", "6H"], combo: "pair" },
          seats: [seat(0, ME, { cards: 9, score: 12 }), seat(1, null, { cards: 8 }), seat(2, ANA, { cards: 7, score: -4 }), seat(3, null, { cards: 10, score: -8 })],
        }),
      },
      { type: "game.hand", data: { table: "brave-otter-4821", cards: ["5S", "7H", "8D", "8S", "TH", "JC", "KH", "AS", "2D"] } },
    ],
    selected: ["8D", "8S"],
  },
  refused: {
    title: "A refused play, in words",
    table: "brave-otter-4821",
    frames: [
      ...chat,
      {
        type: "game.state",
        data: state({
          first_trick: false,
          turn: 0,
          leader: 3,
          passes: 0,
          current: { seat: 3, cards: ["9C", "TD", "JD", "QS", "KC"], combo: "straight" },
          seats: [seat(0, ME, { cards: 11 }), seat(1, null, { cards: 8 }), seat(2, ANA, { cards: 7, away: true }), seat(3, null, { cards: 5 })],
        }),
      },
      { type: "game.hand", data: { table: "brave-otter-4821", cards: ["4C", "5C", "5S", "6H", "7H", "8D", "9S", "TH", "JC", "QD", "KH"] } },
    ],
    selected: ["5C", "6H", "7H", "8D", "9S"],
    notice: "does_not_beat",
  },
  waiting: {
    title: "Someone else's turn, with the deadline",
    table: "brave-otter-4821",
    frames: [
      ...chat,
      {
        type: "game.state",
        data: state({
          first_trick: false,
          turn: 2,
          leader: 1,
          passes: 0,
          current: { seat: 1, cards: ["KD"], combo: "single" },
          turn_deadline: inSeconds(14),
        }),
      },
      { type: "game.hand", data: { table: "brave-otter-4821", cards: hand13.slice(1) } },
    ],
  },
  over: {
    title: "The hand's result, and Deal again",
    table: "brave-otter-4821",
    frames: [
      ...chat,
      {
        type: "game.state",
        data: state({
          first_trick: false,
          turn: 2,
          leader: 2,
          seats: [seat(0, ME, { cards: 6 }), seat(1, null, { cards: 10 }), seat(2, ANA, { cards: 1 }), seat(3, null, { cards: 3 })],
        }),
      },
      {
        type: "game.over",
        data: {
          table: "brave-otter-4821",
          winner: 2,
          penalties: [6, 20, 0, 3],
          scores: [-6, -20, 29, -3],
          hands: [["3D", "5C", "9S", "JC", "KH", "2D"], ["4D", "4H", "6C", "7C", "8C", "9H", "TC", "QC", "AC", "2S"], [], ["5H", "6S", "KS"]],
        },
      },
      {
        type: "game.state",
        data: state({
          status: "waiting",
          turn: null,
          leader: null,
          current: null,
          first_trick: false,
          turn_deadline: null,
          // Bots fill seats for one hand: theirs are empty again after it.
          seats: [seat(0, ME, { cards: 0, score: -6 }), { ...seat(1, null, { cards: 0 }), bot: false }, seat(2, ANA, { cards: 0, score: 29 }), { ...seat(3, null, { cards: 0 }), bot: false }],
        }),
      },
      { type: "game.hand", data: { table: "brave-otter-4821", cards: [] } },
    ],
  },
  "waiting-for-deal": {
    title: "Seated, two players, waiting for a deal",
    table: "friday-night",
    frames: [
      { type: "room.joined", data: { room: "friday-night", members: [ME, BO] } },
      {
        type: "game.state",
        data: {
          ...state({ status: "waiting", turn: null, leader: null, turn_deadline: null, hand_no: 0 }),
          table: "friday-night",
          seats: [seat(0, BO, { cards: 0 }), seat(1, ME, { cards: 0 }), { ...seat(2, null, { cards: 0 }), bot: false }, { ...seat(3, null, { cards: 0 }), bot: false }],
        },
      },
    ],
  },
  watching: {
    title: "Watching a table",
    table: "quick-fox-12",
    frames: [
      {
        type: "game.state",
        data: {
          ...state({ turn: 1, leader: 1, first_trick: false, current: { seat: 3, cards: ["4S", "4H", "4D"], combo: "triple" } }),
          table: "quick-fox-12",
          seats: [seat(0, BO, { cards: 6 }), seat(1, ANA, { cards: 3 }), seat(2, null, { cards: 9 }), seat(3, null, { cards: 2 })],
        },
      },
    ],
  },
  reconnecting: {
    title: "The connection dropped: reconnecting, with the countdown",
    table: "brave-otter-4821",
    frames: [...chat, { type: "game.state", data: state({}) }, { type: "game.hand", data: { table: "brave-otter-4821", cards: hand13 } }],
    connection: { state: "reconnecting", delay: 8000, code: 1006 },
  },
  "logged-out": {
    title: "Logged out",
    list,
    frames: [],
    connection: { state: "logged_out", code: 4003 },
  },
};
