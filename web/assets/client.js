// client.js: the reusable browser client of the Big Two session gateway,
// as one import: `import { GatewayClient } from "/assets/client.js"`.
//
// It re-exports the modules it is made of (no build step, no
// dependencies): socket.js (GatewayClient, the connection's state machine),
// tokens.js (the session store shared by the tabs), api.js (the HTTP API),
// errors.js (GatewayError and the words for each error code), closecodes.js
// and timing.js (pure helpers). See docs/CLIENT.md.
export { GatewayClient, State } from "./socket.js";
export { GatewayError, describeError, errorWords } from "./errors.js";
export { CloseAction, closeAction, closeWords } from "./closecodes.js";
