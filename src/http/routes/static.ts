// The operator console and the OpenAPI document, served from files built into the Worker
// (`npm run static`). No token: the page asks for one, and the document describes a public API.
import type { Context } from "hono";
import { Hono } from "hono/tiny";
import type { BridgeEnv } from "../context";
import { errorResponse } from "../errors";
import { staticFiles } from "../static/files";

/**
 * Scripts and styles from this origin only, nothing inline, no frames, no form posts anywhere, and
 * Trusted Types with no policy: the page cannot hand a string to an HTML sink even by mistake.
 */
const CONSOLE_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "x-robots-tag": "noindex",
  "cache-control": "no-cache",
};

/** Any origin may read the document: API tools fetch it from wherever they run. */
const DOCUMENT_HEADERS = {
  "x-content-type-options": "nosniff",
  "access-control-allow-origin": "*",
  "cache-control": "no-cache",
};

export const staticRoutes = new Hono<BridgeEnv>();

staticRoutes.get("/console", serve);
staticRoutes.get("/console/:file", serve);
staticRoutes.get("/openapi.json", serve);

function serve(c: Context<BridgeEnv>): Response {
  const path = c.req.path;
  // The tiny router matches "/console/" as "/console": redirect, so each file has one address.
  if (path.endsWith("/")) return c.redirect(path.slice(0, -1), 301);
  const file = staticFiles[path];
  if (!file) return errorResponse(c, 404, "not_found", `no file ${path}`);
  const headers = { ...(path === "/openapi.json" ? DOCUMENT_HEADERS : CONSOLE_HEADERS), "content-type": file.type, etag: file.etag };
  // Every file is revalidated (no-cache); an unchanged one costs a 304 and no body.
  if (matches(c.req.header("if-none-match"), file.etag)) return c.body(null, 304, headers);
  return c.body(file.body, 200, headers);
}

function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.trim() === "*" || ifNoneMatch.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}
