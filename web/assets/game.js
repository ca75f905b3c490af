// game.js: the Big Two game page (index.html) on top of the client: the
// lobby (tables, Play now, the lobby chat), the table (the hand, the other
// seats, the trick, whose turn it is, the result, the table chat), the menu
// (sessions, log out) and the connection banner.
//
// The page keeps only the latest game.state, game.hand and game.over of
// each table and renders them through view.js, so it is right whatever it
// missed: after a reload or a dropped socket the server sends a seated
// player's tables again, unasked, and the page shows that seat and hand.
// Which table a tab shows survives a reload (sessionStorage).
import { closeWords } from "./closecodes.js";
import { lowestPlay } from "./combos.js";
import { byTestID, h, setKeyed, setText, show } from "./dom.js";
import { describeError } from "./errors.js";
import { State } from "./socket.js";
import { TABLE_NAME, connectionView, lobbyTables, mySeat, playNowTables, seatName, tableView } from "./view.js";

/** @typedef {import("./view.js").TableState} TableState */
/** @typedef {import("./view.js").GameOver} GameOver */
/** @typedef {import("./view.js").TableListing} TableListing */
/** @typedef {import("./view.js").CardView} CardView */
/** @typedef {import("./view.js").SeatView} SeatView */
/** @typedef {import("./socket.js").Frame} Frame */
/** @typedef {import("./socket.js").Identity} Identity */

/**
 * GameClient is what the page needs of a GatewayClient (web/testdata's
 * fake has the same members).
 * @typedef {object} GameClient
 * @property {string} state
 * @property {Identity | null} session
 * @property {(type: string, fn: (detail: any) => void) => () => void} on
 * @property {() => Promise<void>} start
 * @property {(type: string, data?: unknown) => string | number | null} send
 * @property {(type: string, data?: unknown) => Promise<Frame>} request
 * @property {() => Promise<import("./api.js").SessionInfo[]>} sessions
 * @property {() => Promise<void>} logout
 * @property {() => Promise<void>} logoutEverywhere
 * @property {() => number} serverNow
 */

/**
 * What the page knows of one table.
 * @typedef {object} TableData
 * @property {TableState | null} state the latest game.state
 * @property {string[] | null} hand the latest game.hand (seated players only)
 * @property {GameOver | null} over the last game.over, until the next deal
 * @property {TableState | null} overState the game.state the hand ended in
 * @property {string} last the last pass, in words (the trick shows the last play)
 * @property {number} stateAt when the latest game.state came (local ms)
 */

/** @typedef {{table: string | null, mode: "seated" | "watching" | null}} ViewChoice */
/** @typedef {{from: string, text: string, mine: boolean}} ChatLine */
/** @typedef {"lobby" | "table" | "menu"} Where */

const VIEW_KEY = "bigtwo.view"; // sessionStorage: the table this tab shows
const TICK = 250; // ms between renders of countdowns
const LIST_EVERY = 5000; // ms between game.list while the lobby shows
const RESYNC_WAIT = 2000; // ms after welcome before a seat that sent nothing is watched instead
const NOTICE_FOR = 10000; // ms a notice stays
const MAX_LINES = 200; // chat lines kept per room
const MAX_EVENTS = 50; // connection log entries kept
const STAND_CONFIRM = 5000; // ms a first press of Leave seat waits for the second
const URGENT = 10; // seconds left when the player's turn turns urgent

/**
 * mountGame wires the page's elements (index.html's markup, found by
 * data-testid) to client, and starts rendering. It does not start the
 * client. It returns handles for fixtures and tests.
 * @param {GameClient} client
 * @param {{storage?: Storage | null}} [opts] where the tab's table is kept (default sessionStorage)
 */
export function mountGame(client, opts = {}) {
  const storage = opts.storage !== undefined ? opts.storage : safeSessionStorage();
  /** @type {<T extends HTMLElement = HTMLElement>(id: string) => T} */
  const $ = (id) => byTestID(id);

  const app = {
    /** @type {{state: string, retryAt: number | null, why: string}} */
    conn: { state: client.state, retryAt: null, why: "" },
    /** @type {Identity | null} */
    me: client.session,
    /** @type {ViewChoice} */
    view: readView(storage),
    /** @type {Map<string, TableData>} */
    tables: new Map(),
    /** @type {Set<string>} */
    selected: new Set(),
    /** @type {{tables: TableListing[], total: number} | null} */
    list: null,
    listError: "",
    busy: false,
    /** @type {Record<Where, {text: string, until: number}>} */
    notices: { lobby: { text: "", until: 0 }, table: { text: "", until: 0 }, menu: { text: "", until: 0 } },
    /** @type {Map<string, Map<string, string>>} room -> player_id -> username, for rooms joined */
    members: new Map(),
    /** @type {Map<string, ChatLine[]>} */
    lines: new Map(),
    /** @type {Set<string>} tables this tab left for the lobby: a resync does not pull it back */
    left: new Set(),
    connectedAt: 0,
    standUntil: 0, // a press of Leave seat during a hand asks again until then
  };

  // ---- the connection ----

  client.on("state", (/** @type {import("./socket.js").StateChange} */ d) => {
    app.conn = {
      state: d.state,
      retryAt: d.state === State.RECONNECTING && d.delay ? Date.now() + d.delay : null,
      why: d.code ? closeWords(d.code) : "",
    };
    let note = `state: ${d.state}`;
    if (d.code) note += ` (close ${d.code}${d.reason ? " " + d.reason : ""})`;
    else if (d.reason) note += ` (${d.reason})`;
    event(note);
    if (d.state === State.CONNECTED) connected();
    if (d.state === State.LOGGED_OUT) forgetPlayer();
    render();
  });

  client.on("session", (/** @type {Identity | null} */ s) => {
    if (s && app.me && s.player_id !== app.me.player_id) forgetPlayer();
    app.me = s;
    render();
  });

  client.on("close", ({ code, reason }) => event(`socket closed ${code}${reason ? " " + reason : ""}`));
  client.on("auth.refreshed", () => event("token refreshed in band"));
  client.on("error", ({ data }) => event(`error ${data?.code}: ${data?.message}`));

  function connected() {
    app.me = client.session;
    app.connectedAt = Date.now();
    join("lobby");
    const { table, mode } = app.view;
    if (table) {
      join(table);
      if (mode === "watching") client.send("game.watch", { table });
      else {
        // A seated player's tables come unasked right after welcome; a seat
        // that sent nothing is gone (freed while away): watch the table.
        setTimeout(() => {
          const d = app.tables.get(table);
          if (app.view.table === table && client.state === State.CONNECTED && (!d || d.stateAt < app.connectedAt)) {
            setView(table, "watching");
            client.send("game.watch", { table });
          }
        }, RESYNC_WAIT);
      }
    }
    refreshList();
  }

  // forgetPlayer drops everything of the player: logged out, or another
  // player's session now.
  function forgetPlayer() {
    app.tables.clear();
    app.selected.clear();
    app.members.clear();
    app.lines.clear();
    app.left.clear();
    app.list = null;
    setView(null, null);
  }

  // ---- tables ----

  /** @param {string} name */
  function tableData(name) {
    let d = app.tables.get(name);
    if (!d) {
      d = { state: null, hand: null, over: null, overState: null, last: "", stateAt: 0 };
      app.tables.set(name, d);
    }
    return d;
  }

  client.on("game.state", (/** @type {Frame} */ { data }) => {
    if (!data?.table) return;
    /** @type {TableState} */
    const st = data;
    const d = tableData(st.table);
    d.state = st;
    d.stateAt = Date.now();
    if (st.status === "playing") d.over = d.overState = null;
    const me = app.me?.player_id ?? null;
    const seat = mySeat(st, me);
    const playsHere = seat !== null && !st.seats.find((s) => s.seat === seat)?.bot;
    if (playsHere && !app.view.table && !app.left.has(st.table)) enter(st.table, "seated");
    else if (app.view.table === st.table) {
      if (seat !== null && app.view.mode !== "seated") setView(st.table, "seated");
      if (seat === null && app.view.mode === "seated") {
        // The seat was freed (away too long): keep showing the table.
        setView(st.table, "watching");
        client.send("game.watch", { table: st.table });
      }
    }
    render();
  });

  client.on("game.hand", (/** @type {Frame} */ { data }) => {
    if (!data?.table) return;
    const d = tableData(data.table);
    const hand = Array.isArray(data.cards) ? data.cards : [];
    d.hand = hand;
    if (data.table === app.view.table) for (const c of [...app.selected]) if (!hand.includes(c)) app.selected.delete(c);
    render();
  });

  client.on("game.played", (/** @type {Frame} */ { data }) => {
    if (!data?.table) return;
    const d = tableData(data.table);
    const mine = d.state && mySeat(d.state, app.me?.player_id) === data.seat;
    d.last = ""; // the trick shows it
    if (mine && data.table === app.view.table) app.selected.clear();
    render();
  });

  client.on("game.passed", (/** @type {Frame} */ { data }) => {
    if (!data?.table) return;
    const d = tableData(data.table);
    const mine = d.state && mySeat(d.state, app.me?.player_id) === data.seat;
    d.last = `${mine ? "You" : seatName(d.state?.seats.find((s) => s.seat === data.seat))} passed`;
    render();
  });

  client.on("game.over", (/** @type {Frame} */ { data }) => {
    if (!data?.table) return;
    const d = tableData(data.table);
    d.over = data;
    d.overState = d.state; // the hand's seats: bots' seats are empty after it
    d.last = "";
    render();
  });

  client.on("game.seated", (/** @type {Frame} */ { data }) => {
    if (data?.table && app.view.table === data.table) setView(data.table, "seated");
  });

  // ---- chat rooms ----

  /** @param {string} room */
  function join(room) {
    client.send("room.join", { room });
  }

  /** @param {string} room */
  function leaveRoom(room) {
    if (room === "lobby") return;
    client.send("room.leave", { room });
    app.members.delete(room);
    app.lines.delete(room);
  }

  client.on("room.joined", (/** @type {Frame} */ { data }) => {
    const m = new Map();
    for (const p of data?.members ?? []) m.set(p.player_id, p.username);
    app.members.set(data.room, m);
    render();
  });
  client.on("room.member_joined", (/** @type {Frame} */ { data }) => {
    app.members.get(data?.room)?.set(data.member.player_id, data.member.username);
    render();
  });
  client.on("room.member_left", (/** @type {Frame} */ { data }) => {
    app.members.get(data?.room)?.delete(data.member.player_id);
    render();
  });
  client.on("room.left", (/** @type {Frame} */ { data }) => {
    app.members.delete(data?.room);
    render();
  });
  client.on("room.message", (/** @type {Frame} */ { data }) => {
    if (!data?.room) return;
    const lines = app.lines.get(data.room) ?? [];
    lines.push({ from: data.from?.username ?? "?", text: String(data.text ?? ""), mine: data.from?.player_id === app.me?.player_id });
    if (lines.length > MAX_LINES) lines.splice(0, lines.length - MAX_LINES);
    app.lines.set(data.room, lines);
    render();
  });

  // ---- requests ----

  /**
   * act sends a request on behalf of the player, with the buttons disabled
   * meanwhile; a refusal is shown at where in words, unless its code is
   * one of quiet (the caller handles it).
   * @param {Where} where
   * @param {string} type
   * @param {unknown} data
   * @param {string[]} [quiet]
   * @param {boolean} [busy] whether the game's buttons wait for the answer (not for chat)
   * @returns {Promise<{frame: Frame | null, code: string}>}
   */
  async function act(where, type, data, quiet = [], busy = true) {
    clearNotice(where);
    if (busy) app.busy = true;
    render();
    try {
      return { frame: await client.request(type, data), code: "" };
    } catch (err) {
      const e = /** @type {import("./errors.js").GatewayError} */ (err);
      if (!quiet.includes(e.code)) notice(where, describeError(e));
      return { frame: null, code: e.code ?? "error" };
    } finally {
      if (busy) app.busy = false;
      render();
    }
  }

  /**
   * @param {Where} where
   * @param {string} text
   */
  function notice(where, text) {
    app.notices[where] = { text, until: Date.now() + NOTICE_FOR };
    render();
  }

  /** @param {Where} where */
  function clearNotice(where) {
    app.notices[where] = { text: "", until: 0 };
  }

  async function refreshList() {
    if (client.state !== State.CONNECTED) return;
    try {
      const f = await client.request("game.list");
      app.list = { tables: f.data?.tables ?? [], total: f.data?.total ?? 0 };
      app.listError = "";
    } catch (err) {
      app.listError = describeError(/** @type {any} */ (err));
    }
    render();
  }

  /**
   * @param {string | null} table
   * @param {"seated" | "watching" | null} mode
   */
  function setView(table, mode) {
    app.view = { table, mode };
    try {
      if (table) storage?.setItem(VIEW_KEY, JSON.stringify(app.view));
      else storage?.removeItem(VIEW_KEY);
    } catch {
      // storage full or forbidden: the tab just forgets on reload
    }
  }

  /**
   * enter shows table (joining its chat room).
   * @param {string} table
   * @param {"seated" | "watching"} mode
   */
  function enter(table, mode) {
    const prev = app.view.table;
    if (prev && prev !== table) leaveRoom(prev);
    app.left.delete(table);
    if (prev !== table) {
      app.selected.clear();
      join(table);
    }
    setView(table, mode);
    clearNotice("table");
    render();
  }

  function toLobby() {
    const t = app.view.table;
    if (t) {
      app.left.add(t);
      leaveRoom(t);
    }
    setView(null, null);
    refreshList();
    render();
  }

  function myPlayingTable() {
    for (const d of app.tables.values()) {
      const st = d.state;
      if (!st) continue;
      const seat = mySeat(st, app.me?.player_id);
      if (seat !== null && !st.seats.find((s) => s.seat === seat)?.bot) return st;
    }
    return null;
  }

  async function playNow() {
    if (!app.me) return;
    const mine = myPlayingTable();
    if (mine) {
      enter(mine.table, "seated");
      if (mine.status !== "playing") await act("table", "game.start", { table: mine.table, bots: true }, ["game_in_progress"]);
      return;
    }
    for (const table of playNowTables(app.me.username)) {
      const r = await act("lobby", "game.sit", { table }, ["table_full", "game_in_progress"]);
      if (r.frame) {
        enter(table, "seated");
        await act("table", "game.start", { table, bots: true }, ["game_in_progress"]);
        return;
      }
      if (r.code !== "table_full" && r.code !== "game_in_progress") return;
    }
    notice("lobby", "Every table named after you is busy: pick one from the list, or name one.");
  }

  /** @param {string} table */
  async function sit(table) {
    if (!TABLE_NAME.test(table)) {
      notice("lobby", describeError("bad_table"));
      return;
    }
    const r = await act("lobby", "game.sit", { table });
    if (r.frame) enter(table, "seated");
  }

  /** @param {string} table */
  async function watch(table) {
    if (!TABLE_NAME.test(table)) {
      notice("lobby", describeError("bad_table"));
      return;
    }
    const r = await act("lobby", "game.watch", { table });
    if (r.frame) enter(table, app.view.table === table && app.view.mode === "seated" ? "seated" : "watching");
  }

  /** The view of the table shown, or null. */
  function currentView() {
    const t = app.view.table;
    const d = t ? app.tables.get(t) : undefined;
    if (!d?.state) return null;
    return tableView({
      state: d.state,
      hand: d.hand,
      over: d.over,
      overState: d.overState,
      me: app.me?.player_id ?? null,
      selected: app.selected,
      now: client.serverNow(),
      busy: app.busy || client.state !== State.CONNECTED,
    });
  }

  async function play() {
    const table = app.view.table;
    if (!table || app.selected.size === 0) return;
    const r = await act("table", "game.play", { table, cards: [...app.selected] });
    if (r.frame) app.selected.clear();
    render();
  }

  async function pass() {
    const table = app.view.table;
    if (table) await act("table", "game.pass", { table });
  }

  function hint() {
    const d = app.view.table ? app.tables.get(app.view.table) : undefined;
    if (!d?.state || !d.hand) return;
    const p = lowestPlay(d.hand, d.state.current?.cards ?? null, d.state.first_trick);
    if (!p) {
      notice("table", "Nothing in your hand beats the table: pass.");
      return;
    }
    app.selected = new Set(p);
    clearNotice("table");
    render();
  }

  async function deal() {
    const table = app.view.table;
    if (table) await act("table", "game.start", { table, bots: $("bots").matches(":checked") });
  }

  // stand gives up the seat. During a hand a bot plays it out, so the
  // button asks first: a second press within STAND_CONFIRM ms leaves.
  async function stand() {
    const table = app.view.table;
    if (!table) return;
    if (currentView()?.playing && Date.now() > app.standUntil) {
      app.standUntil = Date.now() + STAND_CONFIRM;
      render();
      return;
    }
    app.standUntil = 0;
    const r = await act("table", "game.stand", { table });
    if (r.frame) toLobby();
  }

  /** @param {string} card */
  function toggle(card) {
    if (app.selected.has(card)) app.selected.delete(card);
    else app.selected.add(card);
    clearNotice("table");
    render();
  }

  // ---- the menu ----

  function openMenu(/** @type {boolean} */ open) {
    show($("menu-panel"), open);
    $("menu").setAttribute("aria-expanded", String(open));
    if (open) listSessions();
  }

  async function listSessions() {
    try {
      const list = await client.sessions();
      $("sessions").replaceChildren(
        ...list.map((s) =>
          h(
            "li",
            { className: s.current ? "current" : "" },
            h("b", { text: s.current ? "This browser" : "Another session" }),
            h("span", {
              className: "muted small",
              text: ` since ${new Date(s.created_at).toLocaleString()} · ${s.ip || "?"} · ${shortAgent(s.user_agent)}`,
            }),
          ),
        ),
      );
    } catch (err) {
      notice("menu", describeError(/** @type {any} */ (err)));
      event(`sessions: ${err instanceof Error ? err.message : err}`);
    }
  }

  /** @param {boolean} everywhere */
  async function logout(everywhere) {
    try {
      await (everywhere ? client.logoutEverywhere() : client.logout());
      openMenu(false);
    } catch (err) {
      const e = /** @type {Error} */ (err);
      // The session is kept when the server could not be told: say so.
      event(`${everywhere ? "logout everywhere" : "logout"} failed, still logged in: ${e.message}`);
      notice("menu", `Not logged out: ${describeError(/** @type {any} */ (e))} You are still logged in.`);
    }
  }

  /** @param {string} text */
  function event(text) {
    const ul = $("events");
    ul.prepend(h("li", { text: `${new Date().toLocaleTimeString()} ${text}` }));
    while (ul.children.length > MAX_EVENTS) ul.lastElementChild?.remove();
  }

  // ---- rendering ----

  function render() {
    renderConnection();
    const name = app.me?.username ?? "…";
    setText($("username"), name);
    setText($("menu-username"), name);
    setText($("player-id"), app.me?.player_id ?? "");
    renderNotice("menu", $("menu-notice"));
    const table = app.view.table;
    show($("lobby"), !table);
    show($("table"), !!table);
    if (table) renderTable(table);
    else renderLobby();
  }

  function renderConnection() {
    const { state, retryAt, why } = app.conn;
    const cv = connectionView(state, retryAt, Date.now(), why);
    const status = $("status");
    status.dataset.state = state;
    setText(status, cv.status);
    const banner = $("banner");
    show(banner, cv.banner !== "");
    banner.dataset.tone = cv.tone;
    setText($("banner-text"), cv.banner);
    const login = $("login");
    show(login, cv.canLogin);
    setText(login, state === State.CLOSED ? "Connect again" : "Play again");
    const out = state === State.LOGGED_OUT;
    for (const id of ["logout", "logout-all", "list-sessions"]) /** @type {HTMLButtonElement} */ ($(id)).disabled = out;
  }

  /**
   * @param {Where} where
   * @param {HTMLElement} el
   */
  function renderNotice(where, el) {
    const n = app.notices[where];
    const on = n.text !== "" && n.until > Date.now();
    show(el, on);
    setText(el, on ? n.text : "");
  }

  function renderLobby() {
    const ok = client.state === State.CONNECTED && !!app.me;
    /** @type {HTMLButtonElement} */ ($("play-now")).disabled = !ok || app.busy;
    /** @type {HTMLButtonElement} */ ($("sit")).disabled = !ok || app.busy;
    /** @type {HTMLButtonElement} */ ($("watch")).disabled = !ok || app.busy;
    renderNotice("lobby", $("lobby-notice"));

    const mine = new Set();
    for (const d of app.tables.values()) if (d.state && mySeat(d.state, app.me?.player_id) !== null) mine.add(d.state.table);
    const listed = app.list?.tables ?? [];
    const all = [...listed];
    for (const t of mine) if (!all.some((x) => x.table === t)) all.push(listingOf(/** @type {TableData} */ (app.tables.get(t))));
    const rows = lobbyTables(all, mine);
    setKeyed($("tables"), JSON.stringify([rows, app.busy, ok]), () =>
      rows.map((r) =>
        h(
          "li",
          { className: r.mine ? "mine" : "" },
          h("span", { className: "table-name name", text: r.table, title: r.table }),
          h("span", { className: "muted small", text: r.mine ? `you sit here · ${r.text}` : r.text }),
          h(
            "span",
            { className: "buttons" },
            r.canSit ? tableButton(r.mine ? "Back to it" : "Sit", r.mine ? "back-to" : "sit-at", r.table, !ok || app.busy) : null,
            r.mine ? null : tableButton("Watch", "watch-at", r.table, !ok || app.busy),
          ),
        ),
      ),
    );
    show($("no-tables"), !!app.list && rows.length === 0);
    const total = app.list?.total ?? 0;
    setText(
      $("tables-total"),
      app.listError ? app.listError : total > listed.length ? `${listed.length} of ${total} shown` : total ? `${total} open` : "",
    );
    renderChat("lobby", "lobby");
  }

  /**
   * @param {string} text
   * @param {string} action
   * @param {string} table
   * @param {boolean} disabled
   */
  function tableButton(text, action, table, disabled) {
    const b = h("button", { text, data: { action, table }, attrs: { type: "button" } });
    b.disabled = disabled;
    return b;
  }

  /**
   * @param {"lobby" | "table"} panel
   * @param {string} room
   */
  function renderChat(panel, room) {
    const members = app.members.get(room);
    setText($(`${panel}-members`), members ? `${members.size} here` : "");
    const log = $(`${panel}-log`);
    const lines = app.lines.get(room) ?? [];
    const key = `${room}:${lines.length}:${lines.length ? lines[lines.length - 1].text : ""}`;
    const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
    if (
      setKeyed(log, key, () =>
        lines.map((l) => h("li", { className: l.mine ? "mine" : "" }, h("span", { className: "from name", text: l.from }), h("span", { className: "text", text: l.text }))),
      ) &&
      stick
    ) {
      log.scrollTop = log.scrollHeight;
    }
    /** @type {HTMLButtonElement} */ ($(`${panel}-send`)).disabled = !members;
  }

  /** @param {string} table */
  function renderTable(table) {
    setText($("table-title"), table);
    $("table-title").title = table;
    renderNotice("table", $("notice"));
    renderChat("table", table);
    const v = currentView();
    const d = app.tables.get(table);
    if (!v || !d) {
      setText($("turn"), client.state === State.CONNECTED ? "Joining the table…" : "");
      for (const pos of ["left", "across", "right", "me"]) setKeyed($(`seat-${pos}`), "", () => []);
      setKeyed($("trick-cards"), "", () => []);
      setText($("trick-name"), "");
      setText($("last-action"), "");
      setText($("hand-no"), "");
      show($("result"), false);
      show($("deal-panel"), false);
      show($("stand"), false);
      show($("sit-here"), false);
      setKeyed($("hand"), "", () => []);
      setText($("selection"), "");
      for (const id of ["play", "pass", "hint", "clear"]) /** @type {HTMLButtonElement} */ ($(id)).disabled = true;
      return;
    }
    setText($("hand-no"), [v.handNo ? `hand ${v.handNo}` : "", v.role].filter(Boolean).join(" · "));
    show($("stand"), v.mySeat !== null);
    /** @type {HTMLButtonElement} */ ($("stand")).disabled = !v.canStand;
    const asking = v.playing && Date.now() < app.standUntil;
    setText($("stand"), asking ? "Leave: a bot plays your cards" : "Leave seat");
    $("stand").dataset.asking = String(asking);
    show($("sit-here"), v.canSit);
    for (const s of v.seats) renderSeat($(`seat-${s.pos}`), s);

    setKeyed($("trick-cards"), v.trick ? v.trick.cards.map((c) => c.card).join(",") : "", () =>
      v.trick ? v.trick.cards.map((c) => cardFace(c, "span")) : [],
    );
    setText($("trick-name"), v.trick ? `${v.trick.name} · ${v.trick.by}` : v.center);
    setText($("last-action"), v.playing ? d.last : "");
    setText($("turn"), v.turnText);
    $("turn").dataset.mine = String(v.myTurn);
    // Whose turn, and since which game.state: every turn has its own
    // deadline, so tests (and tools) can tell a new turn of the same seat
    // from the last one.
    $("turn").dataset.seat = d.state?.turn != null ? String(d.state.turn) : "";
    $("turn").dataset.deadline = d.state?.turn_deadline ?? "";
    $("turn").dataset.urgent = String(v.myTurn && v.secondsLeft !== null && v.secondsLeft <= URGENT);

    show($("result"), !!v.result);
    if (v.result) {
      const res = v.result;
      setText($("result-title"), res.title);
      setKeyed($("result-rows"), JSON.stringify(res), () =>
        res.rows.map((r) =>
          h(
            "li",
            { className: r.winner ? "winner" : r.you ? "you" : "" },
            h("span", { className: "name", text: r.you ? `${r.name} (you)` : r.name, title: r.name }),
            h("span", { className: "result-cards" }, ...(r.left.length ? r.left.map((c) => cardFace(c, "span", "mini")) : [h("span", { className: "muted small", text: "no cards left" })])),
            h("span", { className: "penalty", text: r.winner ? "wins" : `−${r.penalty}` }),
            h("span", { className: "score", text: `score ${r.score}` }),
          ),
        ),
      );
    }

    const seated = v.mySeat !== null;
    $("table").dataset.seated = String(seated);
    $("table").dataset.online = String(client.state === State.CONNECTED);
    setKeyed($("hand"), v.hand.map((c) => c.card).join(","), () => v.hand.map((c) => handCard(c)));
    for (const c of v.hand) {
      const b = /** @type {HTMLButtonElement | null} */ ($("hand").querySelector(`[data-card="${c.card}"]`));
      if (!b) continue;
      if (b.getAttribute("aria-pressed") !== String(c.selected)) b.setAttribute("aria-pressed", String(c.selected));
    }
    setText($("selection"), v.selectionText || (v.myTurn ? "Select cards to play" : ""));
    show($("selection"), seated && v.playing);
    show($("hand"), seated && v.playing && v.hand.length > 0);
    const acts = /** @type {HTMLElement} */ ($("play").parentElement);
    show(acts, seated && v.playing);
    /** @type {HTMLButtonElement} */ ($("play")).disabled = !v.canPlay;
    /** @type {HTMLButtonElement} */ ($("pass")).disabled = !v.canPass;
    /** @type {HTMLButtonElement} */ ($("hint")).disabled = !v.myTurn || app.busy;
    /** @type {HTMLButtonElement} */ ($("clear")).disabled = app.selected.size === 0;
    show($("deal-panel"), seated && !v.playing);
    /** @type {HTMLButtonElement} */ ($("deal")).disabled = !v.canDeal;
    setText($("deal"), v.handNo > 0 ? "Deal again" : "Deal");
  }

  /**
   * @param {HTMLElement} el
   * @param {SeatView} s
   */
  function renderSeat(el, s) {
    el.dataset.turn = String(s.turn);
    el.dataset.empty = String(s.empty);
    el.dataset.seat = String(s.seat);
    setKeyed(el, JSON.stringify([s.name, s.badges, s.cardsText, s.score, s.empty, s.you]), () => [
      h("div", { className: "seat-name name", text: s.you ? `${s.name} (you)` : s.name, title: s.name, data: { testid: "seat-name" } }),
      h("div", { className: "badges" }, ...s.badges.filter((b) => b !== "you").map((b) => h("span", { className: `badge badge-${b.replace(/\s+/g, "-")}`, text: b }))),
      s.empty
        ? h("div", { className: "seat-meta muted small", text: "free" })
        : h(
            "div",
            { className: "seat-meta" },
            h("span", { className: "count", text: s.cardsText, data: { testid: "seat-cards" } }),
            h("span", { className: "score", text: `score ${s.score}`, data: { testid: "seat-score" } }),
          ),
    ]);
  }

  // ---- input ----

  $("menu").addEventListener("click", () => openMenu($("menu-panel").hidden === true));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("menu-panel").hidden) {
      openMenu(false);
      $("menu").focus();
    }
  });
  document.addEventListener("click", (e) => {
    const t = /** @type {Node} */ (e.target);
    if (!$("menu-panel").hidden && !$("menu-panel").contains(t) && !$("menu").contains(t)) openMenu(false);
  });
  $("logout").addEventListener("click", () => logout(false));
  $("logout-all").addEventListener("click", () => logout(true));
  $("list-sessions").addEventListener("click", () => listSessions());
  $("login").addEventListener("click", () => client.start());

  $("play-now").addEventListener("click", () => playNow());
  $("table-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sit(/** @type {HTMLInputElement} */ ($("table-name")).value.trim());
  });
  $("watch").addEventListener("click", () => watch(/** @type {HTMLInputElement} */ ($("table-name")).value.trim()));
  $("tables").addEventListener("click", (e) => {
    const b = /** @type {HTMLElement} */ (e.target).closest("button[data-action]");
    if (!(b instanceof HTMLElement)) return;
    const table = b.dataset.table ?? "";
    if (b.dataset.action === "back-to") enter(table, "seated");
    else if (b.dataset.action === "sit-at") sit(table);
    else watch(table);
  });

  $("back").addEventListener("click", () => toLobby());
  $("stand").addEventListener("click", () => stand());
  $("sit-here").addEventListener("click", async () => {
    const table = app.view.table;
    if (!table) return;
    const r = await act("table", "game.sit", { table });
    if (r.frame) setView(table, "seated");
  });
  $("play").addEventListener("click", () => play());
  $("pass").addEventListener("click", () => pass());
  $("hint").addEventListener("click", () => hint());
  $("clear").addEventListener("click", () => {
    app.selected.clear();
    render();
  });
  $("deal").addEventListener("click", () => deal());
  $("hand").addEventListener("click", (e) => {
    const b = /** @type {HTMLElement} */ (e.target).closest("button[data-card]");
    if (b instanceof HTMLElement && b.dataset.card) toggle(b.dataset.card);
  });
  $("hand").addEventListener("keydown", (e) => {
    const cards = /** @type {HTMLButtonElement[]} */ ([...$("hand").querySelectorAll("button[data-card]")]);
    const i = cards.indexOf(/** @type {HTMLButtonElement} */ (document.activeElement));
    if (i < 0) return;
    const to = { ArrowLeft: i - 1, ArrowRight: i + 1, Home: 0, End: cards.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    cards[Math.max(0, Math.min(cards.length - 1, to))].focus();
  });

  for (const panel of /** @type {const} */ (["lobby", "table"])) {
    $(panel === "lobby" ? "lobby-form" : "table-form-chat").addEventListener("submit", async (e) => {
      e.preventDefault();
      const input = /** @type {HTMLInputElement} */ ($(`${panel}-input`));
      const room = panel === "lobby" ? "lobby" : app.view.table;
      const text = input.value;
      if (!room || !text.trim()) return;
      input.value = "";
      const r = await act(panel, "room.say", { room, text }, [], false);
      if (!r.frame && !input.value) input.value = text; // not sent: give it back
    });
  }

  setInterval(() => {
    if (app.view.table || client.state === State.RECONNECTING) render();
    else renderConnection();
  }, TICK);
  setInterval(() => {
    if (!app.view.table && document.visibilityState !== "hidden") refreshList();
  }, LIST_EVERY);

  render();
  return {
    app,
    render,
    /** @param {string[]} cards */
    select(cards) {
      app.selected = new Set(cards);
      render();
    },
    play,
    notice,
  };
}

/**
 * cardFace is a card as shown on the table or in a result.
 * @param {CardView} c
 * @param {"span"} tag
 * @param {string} [size]
 */
function cardFace(c, tag, size = "") {
  return h(
    tag,
    { className: `card ${c.red ? "red" : "black"} ${size}`.trim(), data: { card: c.card }, attrs: { role: "img", "aria-label": c.name } },
    h("span", { className: "rank", text: c.label.slice(0, -1) }),
    h("span", { className: "suit", text: c.label.slice(-1) }),
  );
}

/**
 * handCard is a card of the player's hand: a toggle button.
 * @param {CardView} c
 */
function handCard(c) {
  return h(
    "button",
    {
      className: `card ${c.red ? "red" : "black"}`,
      data: { card: c.card },
      attrs: { type: "button", "aria-pressed": String(c.selected), "aria-label": c.name },
    },
    h("span", { className: "rank", text: c.label.slice(0, -1) }),
    h("span", { className: "suit", text: c.label.slice(-1), attrs: { "aria-hidden": "true" } }),
  );
}

/**
 * listingOf is a game.list row for a table known only from its game.state.
 * @param {TableData} d
 * @returns {TableListing}
 */
function listingOf(d) {
  const st = /** @type {TableState} */ (d.state);
  return { table: st.table, seated: st.seats.filter((s) => s.player).length, status: st.status };
}

/**
 * shortAgent names a browser and its system from a user agent, roughly:
 * "Chrome on Android".
 * @param {string | undefined} ua
 */
function shortAgent(ua) {
  if (!ua) return "unknown browser";
  const browser = /Edg\//.test(ua) ? "Edge" : /OPR\//.test(ua) ? "Opera" : /Firefox\//.test(ua) ? "Firefox" : /Chrome\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "a browser";
  const os = /iPhone/.test(ua) ? "iPhone" : /iPad/.test(ua) ? "iPad" : /Android/.test(ua) ? "Android" : /Windows/.test(ua) ? "Windows" : /Mac OS X/.test(ua) ? "macOS" : /Linux/.test(ua) ? "Linux" : "";
  return os ? `${browser} on ${os}` : browser;
}

/** @returns {Storage | null} */
function safeSessionStorage() {
  try {
    return globalThis.sessionStorage;
  } catch {
    return null;
  }
}

/**
 * readView is the table a tab showed before a reload.
 * @param {Storage | null} storage
 * @returns {ViewChoice}
 */
function readView(storage) {
  try {
    const v = JSON.parse(storage?.getItem(VIEW_KEY) || "null");
    if (v && typeof v.table === "string" && TABLE_NAME.test(v.table)) {
      return { table: v.table, mode: v.mode === "watching" ? "watching" : "seated" };
    }
  } catch {
    // not ours, or broken: the lobby
  }
  return { table: null, mode: null };
}
