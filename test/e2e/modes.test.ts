// The mode machine end to end, on short thresholds: a scripted flip of DingTalk's delivery path,
// consumer outages and a stuck-routing suspicion, checked transition by transition and alert by alert.
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { robotSign } from "../../src/dingtalk/robot-sign";
import { sampleRobotMessage } from "../../src/dingtalk/sample-messages";
import { startAlertSink } from "../harness/alert-sink";
import { LOCAL } from "../harness/cli";
import { type LocalBridge, startBridge } from "../harness/local-bridge";

const WEBHOOK_SILENCE = 1500;
const CONSUMER_SILENCE = 2500;
const STALL_SILENCE = 2000;
const ALERT_SECRET = "SEClocal-alert-secret";

let bridge: LocalBridge;
let sink: Awaited<ReturnType<typeof startAlertSink>>;

beforeAll(async () => {
  sink = await startAlertSink();
  bridge = await startBridge({
    vars: {
      WEBHOOK_SILENCE_MS: String(WEBHOOK_SILENCE),
      CONSUMER_SILENCE_MS: String(CONSUMER_SILENCE),
      STALL_RESTARTS: "2",
      STALL_WINDOW_MS: "5000",
      STALL_SILENCE_MS: String(STALL_SILENCE),
      OFFLINE_REPLY_TEXT: "Back soon: your message is kept.",
      ALERT_WEBHOOK_URL: `http://127.0.0.1:${sink.port}/robot/send?access_token=local-token`,
      ALERT_WEBHOOK_SECRET: ALERT_SECRET,
    },
  });
});
afterAll(async () => {
  await bridge?.stop();
  await sink?.close();
});

const auth = { authorization: `Bearer ${LOCAL.token}`, "content-type": "application/json" };
const api = async (path: string, body?: unknown) => {
  const res = await fetch(`${bridge.url}/v1/default/${path}`, {
    method: body ? "POST" : "GET",
    headers: auth,
    body: body ? JSON.stringify(body) : undefined,
  });
  expect(res.status).toBe(200);
  return (await res.json()) as any;
};
const heartbeat = (stream: Record<string, unknown>) => api("heartbeat", { consumer: "gw", stream: { connected: true, ...stream } });
async function callback(conversationId = "cid-e2e") {
  const ts = String(Date.now());
  const res = await fetch(`${bridge.url}/dingtalk/default/robot`, {
    method: "POST",
    headers: { "content-type": "application/json", timestamp: ts, sign: await robotSign(LOCAL.secret, ts) },
    body: JSON.stringify(sampleRobotMessage({ msgtype: "text", conversationId })),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as any;
}
/** Polls the read-only status route (which never moves the machine) until `check` holds. */
async function waitFor(check: (s: any) => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await api("status");
    if (check(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out; status: ${JSON.stringify(s).slice(0, 600)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lag: Record<string, number> = {};

describe("a scripted flip of DingTalk's delivery path", () => {
  it("follows every path and raises each alert once, in order", async () => {
    // 1. The gateway's Stream connection reports traffic; no callback ever came: stream at once.
    const hb = await heartbeat({ lastMessageAt: Date.now() });
    expect(hb).toMatchObject({ mode: "stream", pollHintMs: 1250 });

    // 2. The operator switches the robot to HTTP: the first signed callback flips the mode.
    expect(await callback()).toEqual({ msgtype: "empty" });
    let s = await api("status");
    expect(s.mode).toBe("webhook");
    const lastCallbackAt = s.lastCallbackAt;

    // 3. Back on Stream: newer Stream traffic, then callback silence; the alarm flips it, no request needed.
    await sleep(100);
    await heartbeat({ lastMessageAt: Date.now() });
    s = await waitFor((x) => x.mode === "stream");
    const toStream = s.transitions.find((t: any) => t.to === "stream");
    lag.webhookToStream = toStream.at - (lastCallbackAt + WEBHOOK_SILENCE);

    // 4. The gateway goes quiet: consumers detach on their own after CONSUMER_SILENCE_MS.
    s = await waitFor((x) => x.consumers.state === "detached");
    const detached = s.transitions.find((t: any) => t.subject === "consumers" && t.to === "detached");
    lag.consumersDetached = detached.at - (s.consumers.lastSeenAt + CONSUMER_SILENCE);

    // 5. A message arrives while nobody drains: held, offline reply once per conversation, one alert.
    expect(await callback("cid-a")).toEqual({ msgtype: "text", text: { content: "Back soon: your message is kept." } });
    expect(await callback("cid-a")).toEqual({ msgtype: "empty" });
    await waitFor((x) => x.alerts.some((a: any) => a.incident === "consumers_detached" && a.sentAt));

    // 6. The gateway returns: recovery notice, and the backlog drains in order.
    const pulled = await api("pull", { consumer: "gw", max: 10 });
    expect(pulled.events.map((e: any) => e.seq)).toEqual([1, 2, 3]);
    await api("ack", { leaseIds: pulled.events.map((e: any) => e.leaseId) });
    await waitFor((x) => x.alerts.some((a: any) => a.phase === "resolved" && a.sentAt));

    // 7. Stream again, then a reconnect storm followed by a connected, silent stream.
    await heartbeat({ lastMessageAt: Date.now() });
    await waitFor((x) => x.mode === "stream");
    const storm = [Date.now() - 200, Date.now()];
    await heartbeat({ reconnects: storm });
    const stormEnd = storm[1]!;
    s = await (async () => {
      for (;;) {
        await heartbeat({});
        const st = await api("status");
        if (st.routing === "suspected_stuck") return st;
        if (Date.now() - stormEnd > 10_000) throw new Error("no stall suspected");
        await sleep(200);
      }
    })();
    const stalled = s.transitions.find((t: any) => t.subject === "routing" && t.to === "suspected_stuck");
    lag.stuckRouting = stalled.at - (stormEnd + STALL_SILENCE);
    await waitFor((x) => x.alerts.some((a: any) => a.incident === "stuck_routing" && a.sentAt));

    // 8. A Stream message arrives: cleared, with one resolution notice.
    await heartbeat({ lastMessageAt: Date.now() });
    s = await waitFor((x) => x.routing === "ok" && x.alerts.filter((a: any) => a.sentAt).length === 4);

    // Every transition, oldest first.
    const path = [...s.transitions].reverse().map((t: any) => `${t.subject}:${t.from}->${t.to}`);
    expect(path).toEqual([
      "consumers:detached->attached",
      "mode:unknown->stream",
      "mode:stream->webhook",
      "mode:webhook->stream",
      "consumers:attached->detached",
      "mode:stream->webhook",
      "consumers:detached->attached",
      "mode:webhook->stream",
      "routing:ok->suspected_stuck",
      "routing:suspected_stuck->ok",
    ]);

    // Exactly four alerts reached the sink, in order, as signed DingTalk markdown.
    const kinds = sink.received.map((r) => r.body.markdown.title);
    expect(kinds).toEqual([
      "DingTalk messages are waiting: no gateway is draining the bridge",
      "A gateway is draining the bridge again",
      "Suspected stuck DingTalk Stream routing",
      "DingTalk routing recovered",
    ]);
    for (const r of sink.received) {
      expect(r.body.msgtype).toBe("markdown");
      const ts = r.url.searchParams.get("timestamp")!;
      const expected = createHmac("sha256", ALERT_SECRET).update(`${ts}\n${ALERT_SECRET}`).digest("base64");
      expect(r.url.searchParams.get("sign")).toBe(expected);
      expect(r.url.searchParams.get("access_token")).toBe("local-token");
    }
    expect(sink.received[2]!.body.markdown.text).toContain("HTTP");
    console.log(`switch delay after threshold (ms): ${JSON.stringify(lag)}`);
    for (const ms of Object.values(lag)) expect(ms).toBeGreaterThanOrEqual(0);
  });
});
