// Each consumer token may do what its scopes say (issue 24, item 3): drain, send, read, admin. A
// bare token has every scope, so nothing written before scopes breaks. A refused scope is a 403
// naming what the route needs; the status tells a token its own scopes (for the console).
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load";
import { BASE } from "../harness/workerd/dingtalk";

const call = (token: string, method: string, path: string, body?: unknown) =>
  SELF.fetch(`${BASE}/v1/scoped/${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

/** Every route with the scopes that open it, and a body each accepts. */
const ROUTES: [string, string, unknown, string[]][] = [
  ["POST", "pull", {}, ["drain"]],
  ["POST", "ack", { leaseIds: ["lse_x"] }, ["drain"]],
  ["POST", "nack", { leaseIds: ["lse_x"] }, ["drain"]],
  ["POST", "extend", { leaseIds: ["lse_x"], leaseMs: 5000 }, ["drain"]],
  ["POST", "heartbeat", { consumer: "gw" }, ["drain"]],
  ["GET", "status", undefined, ["drain", "read"]],
  ["GET", "events", undefined, ["read"]],
  ["GET", "dead-letters", undefined, ["read"]],
  ["GET", "outbox", undefined, ["read"]],
  ["GET", "send/k-none", undefined, ["send", "read"]],
  ["POST", "send", { to: { openConversationId: "c" }, message: { msgtype: "text", text: { content: "x" } } }, ["send"]],
  ["POST", "dead-letters/redrive", {}, ["admin"]],
  ["POST", "dead-letters/purge", { ids: ["evt_x"] }, ["admin"]],
  ["POST", "events/replay", { ids: ["evt_x"] }, ["admin"]],
  ["POST", "outbox/cancel", { keys: ["k"] }, ["admin"]],
  ["POST", "diagnose", {}, ["admin"]],
];
const TOKENS: [string, string[]][] = [
  ["tok-drain", ["drain"]],
  ["tok-read", ["read"]],
  ["tok-send", ["send"]],
  ["tok-admin", ["admin", "read"]],
];

describe("scopes", () => {
  it.each(ROUTES)("%s %s opens for its scopes only, and refuses the others with 403 scope_refused", async (method, path, body, scopes) => {
    for (const [token, has] of TOKENS) {
      const res = await call(token, method, path, body);
      if (has.some((s) => scopes.includes(s))) {
        // Opened: the route itself answers (a send goes to DingTalk, which this app cannot reach, and
        // an unknown key's fate is 404, so its answer may be a 4xx or 502 of its own), never the
        // token's refusal.
        expect([401, 403], `${token} on ${path}`).not.toContain(res.status);
        expect(res.status, `${token} on ${path}`).toBeLessThan(503);
      } else {
        expect(res.status, `${token} on ${path}`).toBe(403);
        const { error } = (await res.json()) as any;
        expect(error.code).toBe("scope_refused");
        expect(error.message).toContain(scopes[0]);
      }
    }
  });

  it("a bare token has every scope, and the status tells a token its own", async () => {
    const all = await call("tok-all", "GET", "status");
    expect(((await all.json()) as any).token).toEqual({ scopes: ["drain", "send", "read", "admin"] });
    const read = await call("tok-read", "GET", "status");
    expect(((await read.json()) as any).token).toEqual({ scopes: ["read"] });
  });

  it("an unknown token is still a 401, before any scope is looked at", async () => {
    expect((await call("tok-unknown", "GET", "status")).status).toBe(401);
  });

  it("reads scoped tokens from BRIDGE_CONSUMER_TOKENS and BRIDGE_APPS, and refuses a bad scope by name", () => {
    const c = parseConfig({
      DINGTALK_CLIENT_ID: "d",
      DINGTALK_CLIENT_SECRET: "s",
      BRIDGE_CONSUMER_TOKENS: "drain+send:gw-token, plain-token",
    });
    expect(c.apps.get("default")!.consumerTokens).toEqual([
      { token: "gw-token", scopes: ["drain", "send"] },
      { token: "plain-token", scopes: ["drain", "send", "read", "admin"] },
    ]);
    const bad = parseConfig({
      DINGTALK_CLIENT_ID: "d",
      DINGTALK_CLIENT_SECRET: "s",
      BRIDGE_CONSUMER_TOKENS: "t",
      BRIDGE_APPS: JSON.stringify({ x: { clientId: "x", clientSecret: "y", consumerTokens: [{ token: "abc", scopes: ["everything"] }] } }),
    });
    expect(bad.brokenApps.get("x")!.message).toMatch(/^BRIDGE_APPS\.x\.consumerTokens\.0/);
    expect(bad.brokenApps.get("x")!.message).not.toContain("abc");
  });
});
