// The operator console at /console: one static page, its stylesheet and its browser modules, all
// imported as text (wrangler.toml [[rules]]) and served by the Worker itself, with no build step.
// They need no token: the page asks for one and sends it to the consumer API, which checks it.
import { Hono } from "hono";
import type { BridgeEnv } from "../context";
import { errorResponse } from "../errors";
import page from "../../console/index.html";
import css from "../../console/console.css";
import api from "../../console/api.mjs";
import dom from "../../console/dom.mjs";
import format from "../../console/format.mjs";
import jsonText from "../../console/json-text.mjs";
import main from "../../console/main.mjs";
import payloadViewer from "../../console/payload-viewer.mjs";
import session from "../../console/session.mjs";
import sparkline from "../../console/sparkline.mjs";
import viewAlerts from "../../console/view-alerts.mjs";
import viewDeadLetters from "../../console/view-dead-letters.mjs";
import viewHistory from "../../console/view-history.mjs";
import viewOutbox from "../../console/view-outbox.mjs";
import viewQueue from "../../console/view-queue.mjs";
import viewRouting from "../../console/view-routing.mjs";

const JS = "text/javascript; charset=utf-8";

/** What /console/<name> serves, by name. */
const ASSETS = new Map<string, [body: string, type: string]>(Object.entries({
  "console.css": [css, "text/css; charset=utf-8"],
  "api.mjs": [api, JS],
  "dom.mjs": [dom, JS],
  "format.mjs": [format, JS],
  "json-text.mjs": [jsonText, JS],
  "main.mjs": [main, JS],
  "payload-viewer.mjs": [payloadViewer, JS],
  "session.mjs": [session, JS],
  "sparkline.mjs": [sparkline, JS],
  "view-alerts.mjs": [viewAlerts, JS],
  "view-dead-letters.mjs": [viewDeadLetters, JS],
  "view-history.mjs": [viewHistory, JS],
  "view-outbox.mjs": [viewOutbox, JS],
  "view-queue.mjs": [viewQueue, JS],
  "view-routing.mjs": [viewRouting, JS],
}));

/**
 * Scripts and styles from this origin only, nothing inline, no frames, no form posts anywhere,
 * and Trusted Types with no policy: the page cannot hand a string to an HTML sink even by mistake.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:", // the empty favicon
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

const HEADERS = {
  "content-security-policy": CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "x-robots-tag": "noindex",
  // Always revalidated, so a deploy shows at once; the files are small.
  "cache-control": "no-cache",
};

export const consoleRoutes = new Hono<BridgeEnv>();

consoleRoutes.get("/console", (c) => c.body(page, 200, { ...HEADERS, "content-type": "text/html; charset=utf-8" }));
consoleRoutes.get("/console/", (c) => c.redirect("/console", 301));
consoleRoutes.get("/console/:name", (c) => {
  const asset = ASSETS.get(c.req.param("name"));
  if (!asset) return errorResponse(c, 404, "not_found", "no such console file");
  return c.body(asset[0], 200, { ...HEADERS, "content-type": asset[1] });
});
