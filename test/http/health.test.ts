// GET /health: 200 when the configuration holds and every inbox answers; 503 naming the part that
// failed; never an app name or a count, and no token needed.
import { createExecutionContext, env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";

describe("GET /health", () => {
  it("answers 200 with each check, and names no app", async () => {
    const res = await SELF.fetch("https://bridge.test/health");
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ ok: true, checks: { config: "ok", inboxes: "ok" } });
    for (const name of ["default", "t00", "l00", "noevents", "other"]) expect(text).not.toContain(name);
  });

  it("answers 503 when an app's settings are broken, still naming none", async () => {
    const broken = { ...env, BRIDGE_APPS: JSON.stringify({ secretname: { clientId: "x" } }) };
    const res = await worker.fetch(new Request("https://bridge.test/health"), broken, createExecutionContext());
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ ok: false, checks: { config: "failed", inboxes: "ok" } });
    expect(text).not.toContain("secretname");
  });

  it("answers 503 when the configuration cannot be read at all", async () => {
    const res = await worker.fetch(new Request("https://bridge.test/health"), { ...env, LEASE_MS: "soon" }, createExecutionContext());
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ok: false, checks: { config: "failed", inboxes: "not checked" } });
  });
});
