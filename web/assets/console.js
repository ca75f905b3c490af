// console.js: the developer console (/console.html) on top of client.js.
// It shows the player and the connection state, joins a room, chats,
// shows members come and go, sends room.relay or any room.* / game.* frame
// typed as JSON and shows what comes back, lists the player's sessions and
// logs out.
//
// The gateway is the page's own origin, or ?gateway=http://host:port when the
// page is served elsewhere (the gateway then needs GATEWAY_ALLOWED_ORIGINS).
import { GatewayClient, State } from "./client.js";

/**
 * $ returns the element with data-testid id (the page has them all).
 * @param {string} id
 * @returns {any}
 */
const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
const params = new URLSearchParams(location.search);
const client = new GatewayClient({ baseURL: params.get("gateway") || location.origin });
Object.assign(globalThis, { demo: { client } }); // for the browser's console and for tests

let room = ""; // the room the server confirmed we joined, rejoined after a reconnect
/** @type {Map<string, string>} player_id -> username */
const members = new Map();

/** @type {Record<string, string>} */
const stateText = {
  [State.IDLE]: "starting",
  [State.CONNECTING]: "connecting…",
  [State.CONNECTED]: "connected",
  [State.RECONNECTING]: "offline, retrying",
  [State.LOGGED_OUT]: "logged out",
  [State.CLOSED]: "closed",
};

/** @param {string} text */
function event(text) {
  const li = document.createElement("li");
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $("events").prepend(li);
  while ($("events").children.length > 50) $("events").lastChild.remove();
}

/**
 * @param {string} list
 * @param {Node} node
 */
function append(list, node) {
  const el = $(list);
  const stick = el.scrollTop + el.clientHeight >= el.scrollHeight - 4;
  el.append(node);
  while (el.children.length > 200) el.firstChild.remove();
  if (stick) el.scrollTop = el.scrollHeight;
}

/**
 * @param {string} cls
 * @param {string} from
 * @param {string} text
 */
function line(cls, from, text) {
  const li = document.createElement("li");
  li.className = cls;
  const f = document.createElement("span");
  f.className = "from";
  f.textContent = from;
  const t = document.createElement("span");
  t.className = "text";
  t.textContent = text;
  li.append(f, t);
  return li;
}

function renderMembers() {
  $("members").replaceChildren(
    ...[...members.values()].sort().map((name) => {
      const li = document.createElement("li");
      li.textContent = name;
      return li;
    }),
  );
  $("current-room").textContent = room ? `#${room}` : "(none)";
}

client.on("state", ({ state, code, reason, delay }) => {
  const s = $("status");
  s.dataset.state = state;
  let text = stateText[state] || state;
  if (state === State.RECONNECTING && delay) text += ` in ${(delay / 1000).toFixed(1)}s`;
  s.textContent = text;
  // logged_out: start() restores a stored session or makes a new one;
  // closed (1002/1007/1009): start() connects again.
  $("login").hidden = state !== State.LOGGED_OUT && state !== State.CLOSED;
  $("login").textContent = state === State.CLOSED ? "Connect again" : "New session";
  $("logout").disabled = $("logout-all").disabled = state === State.LOGGED_OUT;
  let note = `state: ${state}`;
  if (code) note += ` (close ${code}${reason ? " " + reason : ""})`;
  else if (reason) note += ` (${reason})`;
  event(note);
  if (state === State.CONNECTED && room) client.send("room.join", { room });
  if (state !== State.CONNECTED) {
    members.clear();
    renderMembers();
  }
});

client.on("session", (s) => {
  $("username").textContent = s ? s.username : "—";
  $("player-id").textContent = s ? s.player_id : "";
});

client.on("close", ({ code, reason }) => event(`socket closed ${code}${reason ? " " + reason : ""}`));
client.on("auth.refreshed", () => event("token refreshed in band"));

client.on("room.joined", ({ data }) => {
  room = data.room;
  members.clear();
  for (const m of data.members || []) members.set(m.player_id, m.username);
  renderMembers();
  event(`joined #${data.room}`);
});
client.on("room.member_joined", ({ data }) => {
  if (data.room !== room) return;
  members.set(data.member.player_id, data.member.username);
  renderMembers();
  event(`${data.member.username} joined #${data.room}`);
});
client.on("room.member_left", ({ data }) => {
  if (data.room !== room) return;
  members.delete(data.member.player_id);
  renderMembers();
  event(`${data.member.username} left #${data.room}`);
});
client.on("room.left", ({ data }) => {
  if (data.room === room) room = "";
  members.clear();
  renderMembers();
  event(`left #${data.room}`);
});
client.on("room.message", ({ data }) => {
  const mine = data.from.player_id === client.session?.player_id;
  append("log", line(mine ? "msg mine" : "msg", data.from.username, data.text));
});
client.on("error", ({ data }) => event(`error ${data?.code}: ${data?.message}`));
client.on("frame", (f) => {
  if (f.type === "room.relay") {
    append("game-log", line("game", f.data?.from?.username || "?", `room.relay ${JSON.stringify(f.data?.data)}`));
    return;
  }
  if (!f.type.startsWith("game.")) return;
  const { from, ...rest } = f.data || {};
  append("game-log", line("game", from?.username || "server", `${f.type} ${JSON.stringify(rest)}`));
});

$("join")
  .closest("form")
  .addEventListener("submit", (/** @type {Event} */ e) => {
    e.preventDefault();
    const name = $("room").value.trim();
    if (!name) return;
    if (room && room !== name) client.send("room.leave", { room });
    // room changes on room.joined only: a refused name (bad_room) is not
    // retried on every reconnect.
    client.send("room.join", { room: name });
  });

$("leave").addEventListener("click", () => {
  if (room) client.send("room.leave", { room });
});

$("send")
  .closest("form")
  .addEventListener("submit", (/** @type {Event} */ e) => {
    e.preventDefault();
    const text = $("message").value;
    if (!text || !room) return;
    if (client.send("room.say", { room, text }) !== null) $("message").value = "";
  });

// room.relay goes to the joined room with the typed JSON as its data; any
// other room.* or game.* frame is sent with the typed JSON as it is.
$("game-send")
  .closest("form")
  .addEventListener("submit", (/** @type {Event} */ e) => {
    e.preventDefault();
    let data;
    try {
      data = JSON.parse($("game-data").value || "{}");
    } catch {
      event("frame data is not JSON");
      return;
    }
    const type = $("game-type").value.trim();
    if (type === "room.relay") {
      if (!room) {
        event("join a room first");
        return;
      }
      client.send(type, { room, data });
    } else if (type.startsWith("game.") || type.startsWith("room.")) {
      client.send(type, data);
    } else {
      event("type a room.* or game.* frame");
      return;
    }
    append("game-log", line("game mine", "you", `${type} ${JSON.stringify(data)}`));
  });

$("list-sessions").addEventListener("click", async () => {
  try {
    const list = await client.sessions();
    $("sessions").replaceChildren(
      ...list.map((s) => {
        const li = document.createElement("li");
        li.textContent = `${s.current ? "▶ this one" : s.session_id.slice(0, 8)} · since ${new Date(s.created_at).toLocaleString()} · ${s.ip || "?"} · ${(s.user_agent || "").slice(0, 40)}`;
        return li;
      }),
    );
  } catch (err) {
    event(`sessions: ${err instanceof Error ? err.message : err}`);
  }
});

// A failed logout keeps the session (the server may not know about it):
// show why, the user can click again.
$("logout").addEventListener("click", () =>
  client.logout().catch((err) => event(`logout failed, still logged in: ${err.message}`)),
);
$("logout-all").addEventListener("click", () =>
  client.logoutEverywhere().catch((err) => event(`logout everywhere failed, still logged in: ${err.message}`)),
);
$("login").addEventListener("click", () => {
  room = "";
  client.start();
});

client.start();
