import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DEFAULT_TOKENS } from "../harness/test-env";
import { freshApp } from "../harness/workerd/apps";
import { BASE, consumerFetch, consumerJson, postRobot, robotMessage } from "../harness/workerd/dingtalk";

describe("consumer API auth", () => {
  it("opens with any of the app's tokens, for rotation", async () => {
    for (const token of DEFAULT_TOKENS) expect((await consumerFetch("default", "status", undefined, token)).status).toBe(200);
  });

  it("a token of one app opens no other", async () => {
    const a = freshApp();
    const b = freshApp();
    const res = await consumerFetch(a, "pull", {}, `token-${b}`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error.code).toBe("bad_token");
    expect((await consumerFetch("default", "status", undefined, `token-${a}`)).status).toBe(401);
  });

  it("names a missing or malformed Authorization header", async () => {
    const app = freshApp();
    const none = await SELF.fetch(`${BASE}/v1/${app}/status`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as any).error.code).toBe("missing_token");
    const basic = await SELF.fetch(`${BASE}/v1/${app}/status`, { headers: { authorization: "Basic abc" } });
    expect(basic.status).toBe(400);
    expect(((await basic.json()) as any).error.code).toBe("bad_authorization");
  });

  it("tells browsers and proxies to keep no copy of an answer", async () => {
    const res = await consumerFetch("default", "status");
    expect(res.headers.get("cache-control")).toBe("no-store");
    await res.arrayBuffer();
  });

  it("refuses an unknown app exactly as a known app with a wrong token, so names cannot be probed", async () => {
    for (const token of ["whatever", ""]) {
      const ghost = await consumerFetch("ghost", "status", undefined, token);
      const known = await consumerFetch("default", "status", undefined, token);
      expect(ghost.status).toBe(token ? 401 : 400);
      expect([ghost.status, await ghost.text()]).toEqual([known.status, await known.text()]);
    }
  });
});

describe("consumer API refuses malformed bodies with 400", () => {
  const cases: [string, string, unknown, string][] = [
    ["pull max 0", "pull", { max: 0 }, "max"],
    ["pull max 101", "pull", { max: 101 }, "max"],
    ["pull waitMs too long", "pull", { waitMs: 25_001 }, "waitMs"],
    ["pull negative lease", "pull", { leaseMs: -1 }, "leaseMs"],
    ["pull unknown key", "pull", { maxx: 3 }, "maxx"],
    ["pull release without consumer", "pull", { release: true }, "release"],
    ["pull bad consumer id", "pull", { consumer: "a b" }, "consumer"],
    ["ack without leaseIds", "ack", {}, "leaseIds"],
    ["ack empty leaseIds", "ack", { leaseIds: [] }, "leaseIds"],
    ["ack numbers", "ack", { leaseIds: [1] }, "leaseIds.0"],
    ["nack negative delay", "nack", { leaseIds: ["x"], delayMs: -5 }, "delayMs"],
    ["extend without leaseMs", "extend", { leaseIds: ["x"] }, "leaseMs"],
    ["heartbeat without consumer", "heartbeat", {}, "consumer"],
    ["heartbeat stream not object", "heartbeat", { consumer: "c", stream: true }, "stream"],
    ["heartbeat connected missing", "heartbeat", { consumer: "c", stream: {} }, "stream.connected"],
    ["pull array body", "pull", [1], "body"],
    ["redrive ids not array", "dead-letters/redrive", { ids: "x" }, "ids"],
  ];
  it.each(cases)("%s", async (_name, path, body, where) => {
    const app = freshApp();
    const res = await consumerFetch(app, path, body);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as any;
    expect(error.code).toBe("invalid_body");
    expect(error.message.startsWith(`${where}:`)).toBe(true);
  });

  it("refuses non-JSON and bad queries", async () => {
    const app = freshApp();
    const res = await SELF.fetch(`${BASE}/v1/${app}/ack`, { method: "POST", headers: { authorization: `Bearer token-${app}` }, body: "{" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe("invalid_json");
    const q = await consumerFetch(app, "events?afterSeq=-1");
    expect(q.status).toBe(400);
    expect(((await q.json()) as any).error.code).toBe("invalid_query");
  });

  it("takes an empty pull body as all defaults", async () => {
    const app = freshApp();
    const res = await SELF.fetch(`${BASE}/v1/${app}/pull`, { method: "POST", headers: { authorization: `Bearer token-${app}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ events: [], mode: "unknown" });
  });
});

describe("history newest first", () => {
  it("order=desc reads the newest events after afterSeq, newest first; nextAfterSeq is the newest seq", async () => {
    const app = freshApp();
    for (let i = 0; i < 5; i++) expect((await postRobot(app, robotMessage({ msgId: `desc-${i}` }))).status).toBe(200);
    const seqs = (doc: { events: { seq: number }[] }) => doc.events.map((e) => e.seq);
    const all = await consumerJson(app, "events");
    const [s1, , s3, s4, s5] = seqs(all);
    const newest = await consumerJson(app, "events?order=desc&limit=2");
    expect([seqs(newest), newest.nextAfterSeq]).toEqual([[s5, s4], s5]);
    expect(newest.events[0].payload.msgId).toBe("desc-4");
    expect(seqs(await consumerJson(app, `events?order=desc&afterSeq=${s3}`))).toEqual([s5, s4]);
    expect(await consumerJson(app, `events?order=desc&afterSeq=${s5}`)).toEqual({ nextAfterSeq: s5, events: [] });
    const asc = await consumerJson(app, "events?order=asc&limit=1");
    expect([seqs(asc), asc.nextAfterSeq]).toEqual([[s1], s1]);
  });

  it("refuses another order, and order on dead letters", async () => {
    const app = freshApp();
    for (const path of ["events?order=newest", "dead-letters?order=desc"]) {
      const res = await consumerFetch(app, path);
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).error.code).toBe("invalid_query");
    }
  });
});
