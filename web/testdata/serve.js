// serve.js: serves web/ for the fixture pages, with the headers web.Register
// sets (so a CSP violation shows here too):
//
//   node web/testdata/serve.js [port]     then open http://127.0.0.1:8099/testdata/fixture.html?f=follow
//
// /testdata/fixture.html is index.html with testdata/fixture.js in place
// of assets/main.js. Development only: nothing here is embedded.
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const port = Number(process.argv[2] || 8099);
/** @type {Record<string, string>} */
const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" };
const headers = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Cache-Control": "no-cache",
};

createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
  try {
    let body;
    if (path === "/testdata/fixture.html") {
      body = (await readFile(join(root, "index.html"), "utf8")).replace('src="/assets/main.js"', 'src="/testdata/fixture.js"');
    } else if (/^\/(assets|testdata)\/[\w.-]+$/.test(path)) {
      body = await readFile(join(root, path));
    } else {
      throw new Error("not found");
    }
    res.writeHead(200, { ...headers, "Content-Type": types[extname(path)] ?? "application/octet-stream" });
    res.end(body);
  } catch {
    res.writeHead(404, headers);
    res.end("not found\n");
  }
}).listen(port, "127.0.0.1", () => console.log(`http://127.0.0.1:${port}/testdata/fixture.html`));
