// The mode machine inside the inbox: transitions fired by the alarm with no request arriving.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { freshApp } from "../harness/workerd/apps";
import { consumerJson, postRobot, robotMessage } from "../harness/workerd/dingtalk";
import { inboxWithClock, ingestRobot, runAlarm, untilWaiting } from "../harness/workerd/inbox";

const status = (app: string) => consumerJson(app, "status");
const heartbeat = (app: string, body: Record<string, unknown>) => consumerJson(app, "heartbeat", { consumer: "gw", ...body });

describe("time-driven transitions from the alarm", () => {
  it("webhook -> stream once callbacks are silent for WEBHOOK_SILENCE_MS and Stream traffic is reported", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await ingestRobot(app, "m1");
    const t0 = inbox.clock.now();
    inbox.clock.advance(1_000);
    const hb = await heartbeat(app, { stream: { connected: true, lastMessageAt: inbox.clock.now() } });
    expect(hb).toMatchObject({ mode: "webhook", pollHintMs: 0 });
    // The alarm is armed for the silence deadline; nothing else needs to happen.
    // (An alarm the runtime runs on its own, for the first message's alert, holds none while it runs.)
    await expect.poll(() => runInDurableObject(inbox.stub, (_i, s) => s.storage.getAlarm())).toBeTypeOf("number");
    const armed = await runInDurableObject(inbox.stub, (_i, s) => s.storage.getAlarm());
    expect(armed).toBeLessThanOrEqual(t0 + 120_000);
    inbox.clock.set(t0 + 120_000);
    await runAlarm(inbox.stub);
    const s = await status(app);
    expect(s.mode).toBe("stream");
    expect(s.pollHintMs).toBe(30_000);
    expect(s.transitions.find((t: any) => t.subject === "mode")).toMatchObject({ from: "webhook", to: "stream", at: t0 + 120_000 });
  });

  it("attached -> detached after CONSUMER_SILENCE_MS, with no request arriving", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await consumerJson(app, "pull", { consumer: "gw" });
    expect((await status(app)).consumers.state).toBe("attached");
    await inbox.advance(59_999);
    expect((await status(app)).consumers.state).toBe("attached");
    await inbox.advance(1);
    const s = await status(app);
    expect(s.consumers.state).toBe("detached");
    expect(s.transitions[0]).toMatchObject({ subject: "consumers", to: "detached", reason: expect.stringContaining("60 s") });
  });

  it("a consumer waiting in a long poll counts as seen, however short CONSUMER_SILENCE_MS is", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await inbox.set({ consumerSilenceMs: 1_000 });
    const waiting = consumerJson(app, "pull", { consumer: "gw", waitMs: 3_000 });
    await untilWaiting(app, 1);
    for (let i = 0; i < 3; i++) await inbox.advance(1_000);
    const s = await status(app);
    expect(s.consumers.state).toBe("attached");
    expect(s.transitions.filter((t: any) => t.subject === "consumers").map((t: any) => t.to)).toEqual(["attached"]);
    await waiting;
  });

  it("suspects stuck routing after a reconnect burst and silence, then clears on a message", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    const t0 = inbox.clock.now();
    await heartbeat(app, { stream: { connected: true, lastMessageAt: t0 } });
    inbox.clock.advance(60_000);
    await heartbeat(app, { stream: { connected: true, reconnects: [t0 + 20_000, t0 + 40_000, t0 + 60_000] } });
    // Heartbeats keep the consumer attached while the stream stays silent.
    for (let i = 0; i < 10; i++) {
      inbox.clock.advance(59_000);
      await heartbeat(app, { stream: { connected: true } });
    }
    expect((await status(app)).routing).toBe("ok");
    inbox.clock.set(t0 + 60_000 + 600_000);
    await runAlarm(inbox.stub);
    let s = await status(app);
    expect(s.routing).toBe("suspected_stuck");
    expect(s.incidents).toEqual([{ incident: "stuck_routing", since: t0 + 660_000 }]);
    expect(s.alerts[0]).toMatchObject({ incident: "stuck_routing", phase: "open" });

    inbox.clock.advance(5_000);
    await heartbeat(app, { stream: { connected: true, lastMessageAt: inbox.clock.now() } });
    s = await status(app);
    expect(s.routing).toBe("ok");
    expect(s.incidents).toEqual([]);
    expect(s.alerts[0]).toMatchObject({ incident: "stuck_routing", phase: "resolved" });
  });
});

describe("consumers detached", () => {
  it("holds events, sends the offline reply once per conversation per outage, and drains in order on return", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await inbox.set({ offlineReplyText: "The assistant is restarting; your message is safe." });
    const reply = async (conversationId: string) => (await postRobot(app, robotMessage({ conversationId }))).json();

    expect(await reply("c1")).toEqual({ msgtype: "text", text: { content: "The assistant is restarting; your message is safe." } });
    expect(await reply("c1")).toEqual({ msgtype: "empty" });
    expect((await reply("c2")) as any).toMatchObject({ msgtype: "text" });
    expect((await status(app)).incidents.map((i: any) => i.incident)).toEqual(["consumers_detached"]);

    const drained = await consumerJson(app, "pull", { consumer: "gw", max: 10 });
    expect(drained.events.map((e: any) => e.seq)).toEqual([1, 2, 3]);
    const s = await status(app);
    expect(s.incidents).toEqual([]);
    expect(s.alerts.map((a: any) => `${a.incident}:${a.phase}`)).toEqual(["consumers_detached:resolved", "consumers_detached:open"]);

    // The next outage replies again to the same conversation.
    await inbox.advance(60_000);
    expect(await reply("c1")).toMatchObject({ msgtype: "text" });
  });

  it("answers the empty reply while consumers are attached, even with a reply text set", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await inbox.set({ offlineReplyText: "offline" });
    await consumerJson(app, "pull", { consumer: "gw" });
    expect(await (await postRobot(app, robotMessage())).json()).toEqual({ msgtype: "empty" });
  });
});

describe("stream duplicates", () => {
  it("a msgId reported over Stream is never handed out, before or after its callback", async () => {
    const app = freshApp();
    await ingestRobot(app, "early");
    const hb = await heartbeat(app, { stream: { connected: true, lastMessageAt: Date.now(), msgIds: ["early", "late"] } });
    expect(hb.suppressed).toBe(1);
    await ingestRobot(app, "late");
    await ingestRobot(app, "other");
    const { events } = await consumerJson(app, "pull", { max: 10 });
    expect(events.map((e: any) => e.dedupKey)).toEqual(["robot:other"]);
    const history = await consumerJson(app, "events");
    expect(history.events.map((e: any) => e.state)).toEqual(["suppressed", "suppressed", "leased"]);
    expect((await status(app)).depth).toBe(1);
  });

  it("remembers Stream msgIds for the retention window, then forgets them", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await heartbeat(app, { stream: { connected: true, msgIds: ["m"] } });
    await inbox.advance(8 * 86_400_000);
    await ingestRobot(app, "m");
    expect((await consumerJson(app, "pull", {})).events).toHaveLength(1);
  });
});

describe("alerts", () => {
  it("with no sink configured, say so in status instead of claiming they were sent", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await postRobot(app, robotMessage());
    await runAlarm(inbox.stub);
    const s = await status(app);
    expect(s.alerts[0]).toMatchObject({ incident: "consumers_detached", delivery: "no_sink", sentAt: null });
    expect(s.alerts[0].lastError).toMatch(/ALERT_WEBHOOK_URL/);
    // Nothing is left pending: the alarm does not keep waking for it.
    expect(
      await runInDurableObject(inbox.stub, (_i, st) => st.storage.sql.exec("SELECT 1 FROM alerts WHERE outcome IS NULL").toArray()),
    ).toEqual([]);
  });

  it("retry with backoff from the alarm when the sink fails, never blocking the callback", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await inbox.set({ alertWebhookUrl: "http://127.0.0.1:9/robot/send?access_token=secret-token" });
    const res = await postRobot(app, robotMessage());
    expect(res.status).toBe(200);
    await runAlarm(inbox.stub);
    let s = await status(app);
    expect(s.alerts[0]).toMatchObject({ incident: "consumers_detached", attempts: 1, sentAt: null, delivery: "pending" });
    expect(s.alerts[0].lastError).not.toContain("secret-token");
    const stored = await runInDurableObject(
      inbox.stub,
      (_i, st) => st.storage.sql.exec<{ next_at: number }>("SELECT next_at FROM alerts").one().next_at,
    );
    expect(stored).toBe(inbox.clock.now() + 5_000);
    await inbox.advance(5_000);
    s = await status(app);
    expect(s.alerts[0].attempts).toBe(2);
  });
});
