import { env, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { robotSign } from "../../src/dingtalk/robot-sign";
import { freshApp } from "../harness/workerd/apps";
import { BASE, consumerJson, postRobot, robotMessage } from "../harness/workerd/dingtalk";
import { deepNest } from "../harness/workerd/hostile";

async function history(app: string) {
  return (await consumerJson(app, "events?limit=500")).events as any[];
}

/** The UTF-8 of `text` with `marker` replaced by raw bytes, valid UTF-8 or not. */
function withBytes(text: string, marker: string, bytes: number[]): Uint8Array {
  const [before, after] = text.split(marker).map((t) => new TextEncoder().encode(t));
  const out = new Uint8Array(before!.length + bytes.length + after!.length);
  out.set(before!);
  out.set(bytes, before!.length);
  out.set(after!, before!.length + bytes.length);
  return out;
}

describe("POST /dingtalk/:app/robot", () => {
  it("commits a signed callback and answers the empty reply", async () => {
    const app = freshApp();
    const body = robotMessage({ text: "hi" });
    const res = await postRobot(app, body);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ msgtype: "empty" });
    const events = await history(app);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: "robot", dedupKey: `robot:${body.msgId}`, seq: 1, state: "ready" });
    expect(events[0].payload).toEqual(body);
  });

  it("keeps the body byte for byte: unknown keys, key order and big numbers", async () => {
    const app = freshApp();
    const raw = `{"zeta":1,"msgId":"msgA+/=","msgtype":"text","text":{"content":" x"},"openThreadId":"t","hostingContext":{"a":[1,2]},"bigId":12345678901234567890,"createAt":"1690000000000"}`;
    expect((await postRobot(app, null, { rawBody: raw })).status).toBe(200);
    const res = await consumerJson(app, "pull", { max: 1 });
    expect(res.events[0].payload).toEqual(JSON.parse(raw));
    const text = await (await SELF.fetch(`${BASE}/v1/${app}/events`, { headers: { authorization: `Bearer token-${app}` } })).text();
    expect(text).toContain(raw);
  });

  it("accepts every documented message type and a quota-exceeded message without text", async () => {
    const app = freshApp();
    for (const msgtype of ["text", "richText", "picture", "audio", "video", "file", "unknownMsgType"] as const) {
      expect((await postRobot(app, robotMessage({ msgtype }))).status).toBe(200);
    }
    const quota = { msgId: "msgQuota", msgtype: "text", errorCode: "20001", errorMessage: "quota" };
    expect((await postRobot(app, quota)).status).toBe(200);
    expect((await postRobot(app, { msgId: "msgNew", msgtype: "someNewType", createAt: 1 })).status).toBe(200);
    expect(await history(app)).toHaveLength(9);
  });

  it("stores a retried callback once and answers it 200 again", async () => {
    const app = freshApp();
    const body = robotMessage();
    expect((await postRobot(app, body)).status).toBe(200);
    expect((await postRobot(app, body)).status).toBe(200);
    expect(await history(app)).toHaveLength(1);
  });

  it("stores many identical concurrent callbacks exactly once", async () => {
    const app = freshApp();
    const body = robotMessage();
    const results = await Promise.all(Array.from({ length: 50 }, () => postRobot(app, body)));
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(await history(app)).toHaveLength(1);
    const status = await consumerJson(app, "status");
    expect(status.counters).toMatchObject({ callbacksAccepted: 1, duplicates: 49 });
  });

  it("moves the mode from unknown to webhook on the first verified callback", async () => {
    const app = freshApp();
    expect((await consumerJson(app, "status")).mode).toBe("unknown");
    await postRobot(app, { msgId: "bad", msgtype: "text" }, { secret: "wrong" });
    expect((await consumerJson(app, "status")).mode).toBe("unknown");
    await postRobot(app, robotMessage());
    const status = await consumerJson(app, "status");
    expect(status.mode).toBe("webhook");
    expect(status.lastCallbackAt).toBeTypeOf("number");
    expect(status.transitions[0]).toMatchObject({ subject: "mode", from: "unknown", to: "webhook" });
  });

  describe("refusals name the problem and store nothing", () => {
    const cases: [string, (app: string) => Promise<Response>, number, string][] = [
      ["unknown app", () => postRobot("nosuchapp", robotMessage()), 404, "unknown_app"],
      ["invalid app name", () => postRobot("UPPER", robotMessage()), 404, "unknown_app"],
      ["wrong secret", (a) => postRobot(a, robotMessage(), { secret: "nope" }), 401, "bad_signature"],
      ["garbage sign", (a) => postRobot(a, robotMessage(), { sign: "x" }), 401, "bad_signature"],
      ["stale timestamp", (a) => postRobot(a, robotMessage(), { timestamp: String(Date.now() - 3_700_000) }), 401, "stale_timestamp"],
      ["future timestamp", (a) => postRobot(a, robotMessage(), { timestamp: String(Date.now() + 3_700_000) }), 401, "stale_timestamp"],
      ["bad timestamp", (a) => postRobot(a, robotMessage(), { timestamp: "yesterday", sign: "x" }), 401, "bad_timestamp"],
      [
        "missing headers",
        (a) => SELF.fetch(`${BASE}/dingtalk/${a}/robot`, { method: "POST", body: JSON.stringify(robotMessage()) }),
        401,
        "missing_signature",
      ],
      ["not JSON", (a) => postRobot(a, null, { rawBody: "{nope" }), 400, "invalid_json"],
      ["empty body", (a) => postRobot(a, null, { rawBody: "" }), 400, "invalid_json"],
      ["a JSON array", (a) => postRobot(a, [robotMessage()]), 400, "invalid_body"],
      ["no msgId", (a) => postRobot(a, { msgtype: "text" }), 400, "invalid_body"],
      ["numeric msgId", (a) => postRobot(a, { msgId: 5, msgtype: "text" }), 400, "invalid_body"],
      ["text without content", (a) => postRobot(a, { msgId: "m", msgtype: "text", text: {} }), 400, "invalid_body"],
      ["createAt not a time", (a) => postRobot(a, { msgId: "m", msgtype: "text", createAt: "soon" }), 400, "invalid_body"],
      [
        "over 1 MiB",
        (a) => postRobot(a, null, { rawBody: JSON.stringify({ ...robotMessage(), pad: "x".repeat(1024 * 1024) }) }),
        413,
        "body_too_large",
      ],
      ["six minutes ahead", (a) => postRobot(a, robotMessage(), { timestamp: String(Date.now() + 360_000) }), 401, "stale_timestamp"],
      [
        "invalid UTF-8",
        (a) => postRobot(a, null, { rawBody: withBytes(JSON.stringify(robotMessage({ text: "@@" })), "@@", [0xc3, 0x28]) }),
        400,
        "invalid_utf8",
      ],
      [
        "733 KB of 0xFF",
        (a) =>
          postRobot(a, null, { rawBody: withBytes(JSON.stringify(robotMessage({ text: "@@" })), "@@", new Array(733_000).fill(0xff)) }),
        400,
        "invalid_utf8",
      ],
      ["a leading byte-order mark", (a) => postRobot(a, null, { rawBody: `\ufeff${JSON.stringify(robotMessage())}` }), 400, "invalid_json"],
      ["JSON nested 65 deep", (a) => postRobot(a, { ...robotMessage(), deep: deepNest(64) }), 400, "too_deep"],
      ["JSON nested 3000 deep", (a) => postRobot(a, { ...robotMessage(), deep: deepNest(2999) }), 400, "too_deep"],
    ];
    it.each(cases)("%s", async (_name, send, status, code) => {
      const app = freshApp();
      const res = await send(app);
      expect(res.status).toBe(status);
      const body = (await res.json()) as any;
      expect(body.error.code).toBe(code);
      expect(body.error.message).toBeTypeOf("string");
      expect(body.error.message).not.toContain("this is a secret");
      if (app !== "nosuchapp") {
        const status = await consumerJson(app, "status");
        expect(status.depth).toBe(0);
        expect(status.mode).toBe("unknown");
      }
    });
  });

  it("stores exactly the bytes that came: non-ASCII, escapes and nesting up to 64 levels", async () => {
    const app = freshApp();
    const raw = JSON.stringify({ ...robotMessage({ text: "表情 🚀 \u00e9" }), deep: deepNest(63), esc: '\u0000"' });
    expect((await postRobot(app, null, { rawBody: raw })).status).toBe(200);
    const text = await (await SELF.fetch(`${BASE}/v1/${app}/events`, { headers: { authorization: `Bearer token-${app}` } })).text();
    expect(text).toContain(raw);
  });

  it("refuses a signature made for another app", async () => {
    const app = freshApp();
    const timestamp = String(Date.now());
    const sign = await robotSign("other secret", timestamp);
    const res = await SELF.fetch(`${BASE}/dingtalk/${app}/robot`, {
      method: "POST",
      headers: { timestamp, sign },
      body: JSON.stringify(robotMessage()),
    });
    expect(res.status).toBe(401);
  });

  it("routes each app to its own inbox object", async () => {
    const a = freshApp();
    const b = freshApp();
    await postRobot(a, robotMessage());
    expect(await history(b)).toHaveLength(0);
    const stub = env.INBOX.getByName(a);
    const depth = await runInDurableObject(
      stub,
      (_i, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM events").one().n,
    );
    expect(depth).toBe(1);
  });
});
