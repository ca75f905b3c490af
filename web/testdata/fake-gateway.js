// fake-gateway.js: a stand-in for GatewayClient and the server behind it,
// in the page, for fixtures and screenshots (fixture.html) and for trying
// the game page without a gateway. Two modes:
//
//   - fixture: replays a fixture's frames (fixtures.js) after welcome, and
//     answers requests from the fixture (game.list, room.join) or with the
//     fixture's error code;
//   - live: a small Big Two table server following DESIGN.md's game.* frames
//     (sit, watch, stand, start with bots, play, pass, list, the turn timer,
//     bots' moves, game.over scoring) and chat rooms, for one human player.
//
// Like the real server, every frame sent to the requesting socket while
// handling a request carries the request's id. It is not the server: the
// server's rules are in gateway/room; this is for the page's eyes only.
import { RANKS, SUITS, sortCards } from "../assets/cards.js";
import { beats, classify, lowestPlay } from "../assets/combos.js";
import { GatewayError } from "../assets/errors.js";

/** @typedef {import("../assets/socket.js").Frame} Frame */
/** @typedef {import("../assets/view.js").TableState} TableState */
/** @typedef {{player_id: string, username: string}} Player */

/**
 * FakeClient has the members of GatewayClient that the game page uses.
 */
export class FakeClient extends EventTarget {
  /** @type {string} */
  state = "idle";
  /** @type {import("../assets/socket.js").Identity | null} */
  session = null;
  #me;
  #fixture;
  #latency;
  #seq = 0;
  /** @type {Map<string | number, {resolve: (f: Frame) => void, reject: (e: GatewayError) => void}>} */
  #pending = new Map();
  /** @type {FakeServer | null} */
  #server = null;

  /**
   * @param {{me: Player, fixture?: any, latency?: number, turnTimeout?: number, botDelay?: number}} opts
   */
  constructor(opts) {
    super();
    this.#me = opts.me;
    this.#fixture = opts.fixture ?? null;
    this.#latency = opts.latency ?? 20;
    if (!this.#fixture) {
      this.#server = new FakeServer(opts.me, (f) => this.#deliver(f), opts.turnTimeout ?? 30000, opts.botDelay ?? 700);
    }
  }

  /**
   * @param {string} type
   * @param {(detail: any) => void} fn
   */
  on(type, fn) {
    const h = (/** @type {Event} */ e) => fn(/** @type {CustomEvent} */ (e).detail);
    this.addEventListener(type, h);
    return () => this.removeEventListener(type, h);
  }

  serverNow() {
    return Date.now();
  }

  async start() {
    this.#setState("connecting");
    this.session = {
      ...this.#me,
      session_id: "s-fake",
      expires_at: new Date(Date.now() + 3600e3).toISOString(),
      session_expires_at: new Date(Date.now() + 7 * 86400e3).toISOString(),
    };
    this.#emit("session", this.session);
    await pause(this.#latency);
    this.#setState("connected");
    this.#emit("welcome", { type: "welcome", data: { ...this.#me, session_id: "s-fake" } });
    if (this.#fixture) {
      for (const f of this.#fixture.frames) if (f.type !== "room.joined") this.#deliver(f, 0);
      await pause(this.#latency * 3);
      const c = this.#fixture.connection;
      if (c) this.#setState(c.state, { code: c.code, delay: c.delay });
      if (c?.state === "logged_out") {
        this.session = null;
        this.#emit("session", null);
      }
    } else {
      this.#server?.connect();
    }
  }

  /**
   * @param {string} type
   * @param {unknown} [data]
   * @returns {string | null}
   */
  send(type, data) {
    if (this.state !== "connected") return null;
    const id = `fake-${++this.#seq}`;
    setTimeout(() => this.#handle(type, /** @type {any} */ (data) ?? {}, id), this.#latency);
    return id;
  }

  /**
   * @param {string} type
   * @param {unknown} [data]
   * @returns {Promise<Frame>}
   */
  request(type, data) {
    return new Promise((resolve, reject) => {
      const id = this.send(type, data);
      if (id === null) reject(new GatewayError(0, "not_connected", "not connected"));
      else this.#pending.set(id, { resolve, reject });
    });
  }

  /**
   * drop plays a dropped network: the socket closes (1006), the client
   * waits ms (reconnecting), then connects again, and the server resyncs
   * the player's seats as after any welcome.
   * @param {number} ms
   */
  async drop(ms) {
    for (const [, p] of this.#pending) p.reject(new GatewayError(0, "not_connected", "the socket closed"));
    this.#pending.clear();
    this.#emit("close", { code: 1006, reason: "" });
    this.#setState("reconnecting", { code: 1006, delay: ms });
    await pause(ms);
    this.#setState("connecting");
    await pause(this.#latency);
    this.#setState("connected");
    this.#emit("welcome", { type: "welcome", data: { ...this.#me, session_id: "s-fake" } });
    this.#server?.connect();
  }

  async sessions() {
    const now = new Date().toISOString();
    return [
      { session_id: "s-fake", created_at: now, last_seen_at: now, expires_at: now, ip: "127.0.0.1", user_agent: navigator.userAgent, current: true },
      { session_id: "s-phone", created_at: now, last_seen_at: now, expires_at: now, ip: "192.0.2.7", user_agent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1" },
    ];
  }

  async logout() {
    this.session = null;
    this.#emit("session", null);
    this.#setState("logged_out", { code: 4003, reason: "session revoked" });
  }

  async logoutEverywhere() {
    await this.logout();
  }

  /**
   * @param {string} type
   * @param {any} data
   * @param {string} id
   */
  #handle(type, data, id) {
    if (this.#server) {
      this.#server.handle(type, data, id);
      return;
    }
    const fx = this.#fixture;
    if (type === "game.list") return this.#deliver({ type, id, data: fx.list ?? { tables: [], total: 0 } });
    if (type === "room.join") {
      const joined = fx.frames.find((/** @type {any} */ f) => f.type === "room.joined" && f.data.room === data.room);
      return this.#deliver({ type: "room.joined", id, data: joined?.data ?? { room: data.room, members: [this.#me] } });
    }
    if (type === "room.say") return this.#deliver({ type: "room.message", id, data: { room: data.room, from: this.#me, text: data.text } });
    if (type === "room.leave") return this.#deliver({ type: "room.left", id, data: { room: data.room } });
    if (fx.notice) return this.#deliver({ type: "error", id, data: { code: fx.notice, message: fx.notice } });
    const st = [...fx.frames].reverse().find((/** @type {any} */ f) => f.type === "game.state");
    this.#deliver({ ...(st ?? { type: "game.state", data: {} }), id });
  }

  /**
   * #deliver hands a frame from the "server" to the page, as the socket
   * would: it settles the request of its id (the first frame only) and is
   * an event either way.
   * @param {Frame} f
   * @param {number} [delay]
   */
  #deliver(f, delay = 0) {
    const go = () => {
      if (this.state !== "connected") return;
      const p = f.id !== undefined ? this.#pending.get(f.id) : undefined;
      if (p && f.id !== undefined) {
        this.#pending.delete(f.id);
        if (f.type === "error") p.reject(new GatewayError(0, f.data?.code, f.data?.message));
        else p.resolve(f);
      }
      this.#emit("frame", f);
      this.#emit(f.type, f);
    };
    if (delay > 0) setTimeout(go, delay);
    else go();
  }

  /**
   * @param {string} state
   * @param {{code?: number, reason?: string, delay?: number}} [extra]
   */
  #setState(state, extra = {}) {
    const prev = this.state;
    this.state = state;
    this.#emit("state", { state, prev, ...extra });
  }

  /**
   * @param {string} type
   * @param {unknown} detail
   */
  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/** @param {number} ms */
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @typedef {object} FakeSeat
 * @property {Player | null} player
 * @property {boolean} bot
 * @property {string[]} cards
 * @property {number} score
 */

/**
 * FakeTable is one Big Two table, by DESIGN.md's rules. It sends through
 * broadcast (every frame goes to the one player, who may sit or watch).
 */
export class FakeTable {
  /** @type {FakeSeat[]} */
  seats = [0, 1, 2, 3].map(() => ({ player: null, bot: false, cards: [], score: 0 }));
  /** @type {"waiting" | "playing"} */
  status = "waiting";
  handNo = 0;
  /** @type {number | null} */
  turn = null;
  /** @type {number | null} */
  leader = null;
  /** @type {{seat: number, cards: string[], combo: string} | null} */
  current = null;
  passes = 0;
  firstTrick = false;
  /** @type {number | null} */
  lastWinner = null;
  /** @type {number | null} */
  deadline = null;
  #timer = 0;

  /**
   * @param {string} name
   * @param {{send: (f: Frame) => void, turnTimeout: number, botDelay: number, random?: () => number}} io
   */
  constructor(name, io) {
    this.name = name;
    this.io = io;
  }

  /** @param {string} playerID */
  seatOf(playerID) {
    const i = this.seats.findIndex((s) => s.player?.player_id === playerID);
    return i < 0 ? null : i;
  }

  /** @returns {TableState} */
  publicState() {
    return {
      table: this.name,
      status: this.status,
      hand_no: this.handNo,
      seats: this.seats.map((s, seat) => ({ seat, player: s.player, bot: s.bot, away: false, cards: s.cards.length, score: s.score })),
      turn: this.turn,
      leader: this.leader,
      current: this.current,
      passes: this.passes,
      first_trick: this.firstTrick,
      turn_deadline: this.deadline ? new Date(this.deadline).toISOString() : null,
    };
  }

  /**
   * @param {string | undefined} id
   */
  broadcastState(id) {
    this.io.send({ type: "game.state", id, data: this.publicState() });
  }

  /**
   * @param {number} seat
   * @param {string | undefined} id
   */
  sendHand(seat, id) {
    const s = this.seats[seat];
    if (s.player && !s.bot) this.io.send({ type: "game.hand", id, data: { table: this.name, cards: sortCards(s.cards) } });
  }

  /**
   * @param {Player} p
   * @returns {string | number} an error code, or the seat
   */
  sit(p) {
    const mine = this.seatOf(p.player_id);
    if (mine !== null) return mine;
    if (this.status === "playing") return "game_in_progress";
    const free = this.seats.findIndex((s) => !s.player && !s.bot);
    if (free < 0) return "table_full";
    this.seats[free] = { player: p, bot: false, cards: [], score: 0 };
    return free;
  }

  /**
   * @param {Player} p
   * @returns {string} an error code, or ""
   */
  stand(p) {
    const seat = this.seatOf(p.player_id);
    if (seat === null) return "not_seated";
    if (this.status === "playing") this.seats[seat].bot = true;
    else this.seats[seat] = { player: null, bot: false, cards: [], score: 0 };
    if (this.turn === seat) this.#schedule();
    return "";
  }

  /**
   * @param {Player} p
   * @param {boolean} bots
   * @returns {string} an error code, or ""
   */
  start(p, bots) {
    if (this.seatOf(p.player_id) === null) return "not_seated";
    if (this.status === "playing") return "game_in_progress";
    if (!bots && this.seats.some((s) => !s.player)) return "not_enough_players";
    for (const s of this.seats) if (!s.player) s.bot = true;
    const deck = [...RANKS].flatMap((r) => [...SUITS].map((x) => r + x));
    const random = this.io.random ?? Math.random;
    for (let i = deck.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [deck[i], deck[j]] = [deck[j], deck[i]];
    }
    this.seats.forEach((s, i) => {
      s.cards = sortCards(deck.slice(i * 13, i * 13 + 13));
    });
    this.handNo++;
    this.status = "playing";
    this.firstTrick = this.lastWinner === null;
    this.leader = this.firstTrick ? this.seats.findIndex((s) => s.cards.includes("3D")) : this.lastWinner;
    this.turn = this.leader;
    this.current = null;
    this.passes = 0;
    this.#schedule();
    return "";
  }

  /**
   * @param {number | null} seat
   * @param {unknown} cards
   * @returns {string} an error code, or ""
   */
  play(seat, cards) {
    if (this.status !== "playing") return "no_game";
    if (seat === null) return "not_seated";
    if (this.turn !== seat) return "not_your_turn";
    if (!Array.isArray(cards) || !cards.every((c) => typeof c === "string")) return "invalid_cards";
    if (cards.length === 0 || new Set(cards).size !== cards.length || !classifyCodes(cards)) return "invalid_cards";
    const hand = this.seats[seat].cards;
    if (!cards.every((c) => hand.includes(c))) return "cards_not_in_hand";
    const p = classify(cards);
    if (!p) return "invalid_combination";
    if (this.current) {
      const cur = classify(this.current.cards);
      if (!cur || !beats(p, cur)) return "does_not_beat";
    }
    if (this.firstTrick && !cards.includes("3D")) return "must_play_3d";
    this.seats[seat].cards = hand.filter((c) => !cards.includes(c));
    if (!this.current) this.leader = seat; // the lead of a new trick
    this.current = { seat, cards: p.cards, combo: p.combo };
    this.passes = 0;
    this.firstTrick = false;
    return "";
  }

  /**
   * @param {number | null} seat
   * @returns {string} an error code, or ""
   */
  pass(seat) {
    if (this.status !== "playing") return "no_game";
    if (seat === null) return "not_seated";
    if (this.turn !== seat) return "not_your_turn";
    if (!this.current) return "cannot_pass_on_lead";
    this.passes++;
    return "";
  }

  /**
   * advance moves the turn on after an accepted play or pass by seat;
   * it returns the game.over data when the hand ended.
   * @param {number} seat
   */
  advance(seat) {
    if (this.seats[seat].cards.length === 0) return this.#over(seat);
    if (this.passes === 3 && this.current) {
      this.leader = this.current.seat;
      this.turn = this.current.seat;
      this.current = null;
      this.passes = 0;
    } else {
      this.turn = (seat + 1) % 4;
    }
    this.#schedule();
    return null;
  }

  /** @param {number} winner */
  #over(winner) {
    const penalties = this.seats.map((s, i) => {
      if (i === winner) return 0;
      const n = s.cards.length;
      return n === 13 ? 3 * n : n >= 10 ? 2 * n : n;
    });
    const total = penalties.reduce((a, b) => a + b, 0);
    this.seats.forEach((s, i) => {
      s.score += i === winner ? total : -penalties[i];
    });
    const over = {
      table: this.name,
      winner,
      penalties,
      scores: this.seats.map((s) => s.score),
      hands: this.seats.map((s) => sortCards(s.cards)),
    };
    clearTimeout(this.#timer);
    this.status = "waiting";
    this.turn = this.leader = this.current = this.deadline = null;
    this.passes = 0;
    this.lastWinner = winner;
    // Bots fill seats for one hand; a seat its player left (a bot played
    // it out) is free too. A freed seat's score starts again from 0.
    this.seats = this.seats.map((s) => (s.player && !s.bot ? { ...s, cards: [] } : { player: null, bot: false, cards: [], score: 0 }));
    return over;
  }

  #schedule() {
    clearTimeout(this.#timer);
    if (this.status !== "playing" || this.turn === null) return;
    const seat = this.turn;
    if (this.seats[seat].bot) {
      this.deadline = null;
      this.#timer = setTimeout(() => this.botMove(seat), this.io.botDelay);
    } else {
      this.deadline = Date.now() + this.io.turnTimeout;
      this.#timer = setTimeout(() => this.botMove(seat), this.io.turnTimeout);
    }
  }

  /**
   * botMove plays the contract's bot move for seat (a bot's turn, or a
   * player's deadline).
   * @param {number} seat
   */
  botMove(seat) {
    if (this.status !== "playing" || this.turn !== seat) return;
    const hand = this.seats[seat].cards;
    const p = lowestPlay(hand, this.current?.cards ?? null, this.firstTrick);
    if (p && this.play(seat, p) === "") {
      this.io.send({ type: "game.played", data: { table: this.name, seat, cards: p, combo: this.current?.combo } });
      this.sendHand(seat, undefined);
    } else if (this.current && this.pass(seat) === "") {
      this.io.send({ type: "game.passed", data: { table: this.name, seat } });
    } else return;
    const over = this.advance(seat);
    if (over) this.io.send({ type: "game.over", data: over });
    this.broadcastState(undefined);
  }

  close() {
    clearTimeout(this.#timer);
  }
}

/** @param {string[]} cards */
function classifyCodes(cards) {
  return cards.every((c) => c.length === 2 && RANKS.includes(c[0]) && SUITS.includes(c[1]));
}

/** FakeServer answers one player's frames with tables and chat rooms. */
class FakeServer {
  /** @type {Map<string, FakeTable>} */
  tables = new Map();
  /** @type {Set<string>} */
  watching = new Set();
  /**
   * @param {Player} me
   * @param {(f: Frame) => void} send
   * @param {number} turnTimeout
   * @param {number} botDelay
   */
  constructor(me, send, turnTimeout, botDelay) {
    this.me = me;
    this.send = send;
    this.turnTimeout = turnTimeout;
    this.botDelay = botDelay;
  }

  /** connect resyncs the player's seats, as the server does after welcome. */
  connect() {
    for (const t of this.tables.values()) {
      const seat = t.seatOf(this.me.player_id);
      if (seat !== null) {
        t.broadcastState(undefined);
        t.sendHand(seat, undefined);
      }
    }
  }

  /** @param {string} name */
  table(name) {
    let t = this.tables.get(name);
    if (!t) {
      t = new FakeTable(name, { send: this.send, turnTimeout: this.turnTimeout, botDelay: this.botDelay });
      this.tables.set(name, t);
    }
    return t;
  }

  /**
   * @param {string} type
   * @param {any} data
   * @param {string} id
   */
  handle(type, data, id) {
    const err = (/** @type {string} */ code) => this.send({ type: "error", id, data: { code, message: code } });
    const name = typeof data?.table === "string" ? data.table : "";
    const needTable = type.startsWith("game.") && type !== "game.list";
    if (needTable && !/^[A-Za-z0-9_-]{1,64}$/.test(name)) return err("bad_table");
    switch (type) {
      case "room.join":
        return this.send({ type: "room.joined", id, data: { room: data.room, members: [this.me] } });
      case "room.leave":
        return this.send({ type: "room.left", id, data: { room: data.room } });
      case "room.say":
        return this.send({ type: "room.message", id, data: { room: data.room, from: this.me, text: data.text } });
      case "game.list":
        return this.send({
          type: "game.list",
          id,
          data: {
            tables: [...this.tables.values()].map((t) => ({ table: t.name, seated: t.seats.filter((s) => s.player).length, status: t.status })),
            total: this.tables.size,
          },
        });
      case "game.sit": {
        const t = this.table(name);
        const r = t.sit(this.me);
        if (typeof r === "string") return err(r);
        this.send({ type: "game.seated", id, data: { table: name, seat: r } });
        return t.broadcastState(id);
      }
      case "game.watch":
        this.watching.add(name);
        return this.table(name).broadcastState(id);
      case "game.stand": {
        const t = this.tables.get(name);
        const r = t ? t.stand(this.me) : "not_seated";
        if (r) return err(r);
        return t?.broadcastState(id);
      }
      case "game.start": {
        const t = this.tables.get(name);
        const r = t ? t.start(this.me, !!data.bots) : "not_seated";
        if (r || !t) return err(r || "not_seated");
        const seat = /** @type {number} */ (t.seatOf(this.me.player_id));
        t.sendHand(seat, id);
        return t.broadcastState(id);
      }
      case "game.play":
      case "game.pass": {
        const t = this.tables.get(name);
        if (!t) return err("no_game");
        const seat = t.seatOf(this.me.player_id);
        const r = type === "game.play" ? t.play(seat, data.cards) : t.pass(seat);
        if (r) return err(r);
        const s = /** @type {number} */ (seat);
        if (type === "game.play") this.send({ type: "game.played", id, data: { table: name, seat: s, cards: t.current?.cards, combo: t.current?.combo } });
        else this.send({ type: "game.passed", id, data: { table: name, seat: s } });
        const over = t.advance(s);
        if (over) this.send({ type: "game.over", id, data: over });
        t.broadcastState(id);
        if (type === "game.play") t.sendHand(s, id);
        return;
      }
      default:
        return err("unknown_type");
    }
  }
}
