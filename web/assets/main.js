// main.js: the game page's entry (index.html): one client for the page's
// gateway, the game on top of it. The gateway is the page's own origin, or
// ?gateway=http://host:port when the page is served elsewhere (the gateway
// then needs GATEWAY_ALLOWED_ORIGINS).
import { mountGame } from "./game.js";
import { GatewayClient } from "./socket.js";

const params = new URLSearchParams(location.search);
const client = new GatewayClient({ baseURL: params.get("gateway") || location.origin });
const game = mountGame(client);
// For the browser's console and for tests (the name the console page uses too).
Object.assign(globalThis, { demo: { client, game } });
client.start();
