// GET /health: 200 while any app can take messages, with each app's configuration, inbox and link;
// a broken app is reported without turning the bridge 503, and without naming its setting; 503 only
// when no app can take messages. No token needed.
import { createExecutionContext, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";

const apps = (extra: Record<string, unknown> = {}) => ({
  BRIDGE_APPS: JSON.stringify({ "health-a": { clientId: "ha", clientSecret: "s", consumerTokens: ["t"] }, ...extra }),
});
const health = (vars: Record<string, unknown>) =>
  worker.fetch(new Request("https://bridge.test/health"), { ...env, ...vars }, createExecutionContext());

describe("GET /health", () => {
  it("answers 200 with each app's state", async () => {
    const res = await health(apps());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      ok: true,
      apps: { default: { config: "ok", inbox: "ok" }, "health-a": { config: "ok", inbox: "ok" } },
      settingsFellBack: 0,
    });
  });

  it("reports a broken app without turning 503 for the healthy ones, and names no setting of it", async () => {
    const res = await health(apps({ "health-b": { clientId: "x", clientSecret: "hidden-secret-value" } }));
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text).apps["health-b"]).toEqual({ config: "broken" });
    expect(text).not.toMatch(/consumerTokens|hidden-secret-value/);
  });

  it("counts settings that fell back to their defaults, and stays up", async () => {
    const res = await health({ ...apps(), LEASE_MS: "soon" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).settingsFellBack).toBe(1);
  });

  it("answers 503 when no app can take messages", async () => {
    const res = await health({
      DINGTALK_CLIENT_ID: undefined,
      DINGTALK_CLIENT_SECRET: undefined,
      BRIDGE_APPS: JSON.stringify({ only: { clientId: "x" } }),
    });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ok: false, apps: { only: { config: "broken" } }, settingsFellBack: 0 });
  });
});
