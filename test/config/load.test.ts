import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfig } from "../../src/config/load";

const KEY = "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7";
const single = { DINGTALK_CLIENT_ID: "dingid", DINGTALK_CLIENT_SECRET: "s3cr3t-value", BRIDGE_CONSUMER_TOKENS: "tok-1, tok-2" };

/** What is wrong: the error that disables the whole bridge, or the one that disables an app, or a setting that fell back. */
function problem(env: Record<string, unknown>): string {
  try {
    const config = parseConfig(env);
    const broken = [...config.brokenApps.values()][0];
    if (broken) return broken.message;
    const fellBack = config.problems[0];
    if (fellBack) return `${fellBack.setting}: ${fellBack.problem}`;
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError or a problem");
}

describe("configuration", () => {
  it("builds the default app from the single-app variables, with documented defaults", () => {
    const c = parseConfig(single);
    const app = c.apps.get("default")!;
    const everything = ["drain", "send", "read", "admin"];
    expect(app).toMatchObject({
      clientId: "dingid",
      consumerTokens: [
        { token: "tok-1", scopes: everything },
        { token: "tok-2", scopes: everything },
      ],
      events: undefined,
    });
    expect(c.tunables).toMatchObject({
      signWindowMs: 3_600_000,
      retentionMs: 7 * 86_400_000,
      leaseMs: 60_000,
      maxAttempts: 10,
      webhookSilenceMs: 120_000,
      consumerSilenceMs: 60_000,
      stallRestarts: 3,
      stallWindowMs: 600_000,
      stallSilenceMs: 600_000,
      offlineReplyText: undefined,
    });
  });

  it("defaults the event owner key to the client id", () => {
    const c = parseConfig({ ...single, DINGTALK_EVENT_TOKEN: "tok", DINGTALK_EVENT_AES_KEY: KEY });
    expect(c.apps.get("default")!.events).toEqual({ token: "tok", aesKey: KEY, ownerKey: "dingid" });
    const corp = parseConfig({ ...single, DINGTALK_EVENT_TOKEN: "tok", DINGTALK_EVENT_AES_KEY: KEY, DINGTALK_EVENT_OWNER_KEY: "dingcorp" });
    expect(corp.apps.get("default")!.events!.ownerKey).toBe("dingcorp");
  });

  it("reads several apps from BRIDGE_APPS beside the default", () => {
    const apps = { "team-b": { clientId: "b", clientSecret: "sb", consumerTokens: ["tb"] } };
    const c = parseConfig({ ...single, BRIDGE_APPS: JSON.stringify(apps) });
    expect([...c.apps.keys()].sort()).toEqual(["default", "team-b"]);
  });

  it("coerces numeric vars given as strings", () => {
    expect(parseConfig({ ...single, LEASE_MS: "5000", RETENTION_DAYS: "0.5" }).tunables).toMatchObject({
      leaseMs: 5000,
      retentionMs: 43_200_000,
    });
  });

  it.each([
    [{}, "DINGTALK_CLIENT_ID"],
    [{ DINGTALK_CLIENT_ID: "x", BRIDGE_CONSUMER_TOKENS: "t" }, "DINGTALK_CLIENT_SECRET"],
    [{ ...single, BRIDGE_CONSUMER_TOKENS: " , " }, "BRIDGE_CONSUMER_TOKENS"],
    [{ ...single, DINGTALK_EVENT_TOKEN: "tok" }, "DINGTALK_EVENT_TOKEN"],
    [{ ...single, DINGTALK_EVENT_TOKEN: "tok", DINGTALK_EVENT_AES_KEY: "short-secret-key" }, "DINGTALK_EVENT_AES_KEY"],
    [{ ...single, LEASE_MS: "soon" }, "LEASE_MS"],
    [{ ...single, MAX_ATTEMPTS: "0" }, "MAX_ATTEMPTS"],
    [{ ...single, ALERT_WEBHOOK_URL: "ftp://x" }, "ALERT_WEBHOOK_URL"],
    [{ ...single, BRIDGE_APPS: "{not json" }, "BRIDGE_APPS"],
    [{ ...single, BRIDGE_APPS: '{"Bad Name": {}}' }, "BRIDGE_APPS"],
    [{ ...single, BRIDGE_APPS: '{"b": {"clientId": "b", "clientSecret": "hidden-secret"}}' }, "BRIDGE_APPS.b.consumerTokens"],
    [{ ...single, BRIDGE_APPS: '{"default": {"clientId": "b", "clientSecret": "s", "consumerTokens": ["t"]}}' }, "BRIDGE_APPS"],
    [{ ...single, BRIDGE_CONSUMER_TOKENS: "good, has space" }, "BRIDGE_CONSUMER_TOKENS.1"],
    [
      { ...single, BRIDGE_APPS: '{"b": {"clientId": "b", "clientSecret": "s", "consumerTokens": ["user:pass"]}}' },
      "BRIDGE_APPS.b.consumerTokens.0",
    ],
    [{ ...single, RETENTION_DAYS: "0.01" }, "RETENTION_DAYS"],
    [{ ...single, EVENT_MAX_AGE_MS: String(8 * 86_400_000) }, "EVENT_MAX_AGE_MS"],
    [{ ...single, CONSUMER_SILENCE_MS: "500" }, "CONSUMER_SILENCE_MS"],
    [{ ...single, STREAM_LINK: "yes" }, "STREAM_LINK"],
    [{ ...single, DINGTALK_API_BASE: "not a url" }, "DINGTALK_API_BASE"],
    [{ ...single, DINGTALK_API_BASE: "http://api.example.com" }, "DINGTALK_API_BASE"],
    [{ ...single, ORDERING: "random" }, "ORDERING"],
  ])("names the bad setting: %j", (env, setting) => {
    const message = problem(env);
    expect(message.startsWith(setting)).toBe(true);
    for (const secret of ["s3cr3t-value", "short-secret-key", "hidden-secret", "has space", "user:pass"]) {
      expect(message).not.toContain(secret);
    }
  });

  it("a malformed setting with a default never takes the bridge down: the default is used, and the setting named", () => {
    const malformed = { LEASE_MS: "soon", MAX_ATTEMPTS: "0", STREAM_LINK: "yes", DINGTALK_API_BASE: "http://api.example.com" };
    const c = parseConfig({ ...single, ...malformed });
    expect(c.apps.has("default")).toBe(true);
    expect(c.tunables).toMatchObject({ leaseMs: 60_000, maxAttempts: 10 });
    expect(c).toMatchObject({ apiBase: "https://api.dingtalk.com" });
    expect(c.problems.map((p) => `${p.setting}: ${p.problem}`)).toEqual([
      "STREAM_LINK: must be on or off; the default off is used",
      "DINGTALK_API_BASE: must be an https URL (plain http only for a loopback host); the default https://api.dingtalk.com is used",
      "LEASE_MS: must be a whole number of milliseconds from 1000 to 43200000; the default 60000 is used",
      "MAX_ATTEMPTS: must be a whole number of leases from 1 to 1000; the default 10 is used",
    ]);
  });

  it("a pair of tunables that cannot work together both fall back", () => {
    const c = parseConfig({ ...single, RETENTION_DAYS: "0.01", SIGN_WINDOW_MS: "7200000" });
    expect(c.tunables).toMatchObject({ retentionMs: 7 * 86_400_000, signWindowMs: 3_600_000 });
    expect(c.problems.map((p) => p.setting)).toEqual(["RETENTION_DAYS", "SIGN_WINDOW_MS"]);
  });

  it("disables a broken app alone, and keeps serving the others", () => {
    const apps = {
      good: { clientId: "g", clientSecret: "sg", consumerTokens: ["tg"] },
      bad: { clientId: "b", consumerTokens: ["tb"] },
    };
    const c = parseConfig({ ...single, BRIDGE_APPS: JSON.stringify(apps) });
    expect([...c.apps.keys()].sort()).toEqual(["default", "good"]);
    expect(c.brokenApps.get("bad")!.message).toBe("BRIDGE_APPS.bad.clientSecret: is required");
    const noSecret = parseConfig({
      DINGTALK_CLIENT_ID: "x",
      BRIDGE_CONSUMER_TOKENS: "t",
      BRIDGE_APPS: JSON.stringify({ good: apps.good }),
    });
    expect([...noSecret.apps.keys()]).toEqual(["good"]);
    expect(noSecret.brokenApps.get("default")!.setting).toBe("DINGTALK_CLIENT_SECRET");
  });

  it("reads the Stream link switch, DingTalk's API base and the public URL", () => {
    const c = parseConfig({
      ...single,
      STREAM_LINK: "on",
      DINGTALK_API_BASE: "http://127.0.0.1:9999/",
      PUBLIC_URL: "https://bridge.example.com/",
      BRIDGE_APPS: JSON.stringify({ quiet: { clientId: "q", clientSecret: "s", consumerTokens: ["t"], streamLink: false } }),
    });
    expect(c.apps.get("default")!.streamLink).toBe(true);
    expect(c.apps.get("quiet")!.streamLink).toBe(false);
    expect(c).toMatchObject({ apiBase: "http://127.0.0.1:9999", publicUrl: "https://bridge.example.com" });
    expect(parseConfig(single)).toMatchObject({ apiBase: "https://api.dingtalk.com", publicUrl: undefined });
    expect(parseConfig(single).apps.get("default")!.streamLink).toBe(false);
  });

  it("windows event pushes by the retention unless told otherwise", () => {
    expect(parseConfig(single).tunables.eventMaxAgeMs).toBe(7 * 86_400_000);
    expect(parseConfig({ ...single, EVENT_MAX_AGE_MS: "600000" }).tunables.eventMaxAgeMs).toBe(600_000);
  });

  it("parses once per env object and remembers a bad verdict too", () => {
    const env = { ...single };
    expect(loadConfig(env)).toBe(loadConfig(env));
    const bad = {};
    expect(() => loadConfig(bad)).toThrow(ConfigError);
    expect(() => loadConfig(bad)).toThrow(ConfigError);
  });
});
