// The Stream link in workerd against the fake DingTalk: it connects, answers pings, commits each
// robot message before acking it, and survives disconnects, drops and its own restarts.
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ROBOT_TOPIC } from "../../src/stream/frames";
import { linkCredentials } from "../harness/test-env";
import { claimLinkApp } from "../harness/workerd/apps";
import { consumerJson, postRobot, robotMessage } from "../harness/workerd/dingtalk";
import { fake, fakeView, sendOverStream, until } from "../harness/workerd/fake";
import { restartObject } from "../harness/workerd/inbox";

// This file's apps at the shared fake DingTalk: l00-l09.

const link = (app: string) => env.LINKS.getByName(app);
const history = async (app: string) => (await consumerJson(app, "events?limit=500")).events as any[];

async function connected(app: string) {
  await link(app).ensure();
  return until(
    "an open link",
    () => fakeView(app),
    (v) => v.live.length === 1,
  );
}

/** Waits until the link is open again on a second connection, the first one gone. */
function reconnected(app: string) {
  return until(
    "reconnected",
    () => fakeView(app),
    (v) => v.live.length === 1 && v.opens.length === 2,
  );
}

/** Waits until the app's history holds `count` events. */
function committed(app: string, count: number, timeoutMs?: number) {
  return until(
    `${count} events committed`,
    () => history(app),
    (e) => e.length === count,
    timeoutMs,
  );
}

describe("the Stream link", () => {
  it("opens a connection subscribed to the robot topic, answers pings, and shows in status", async () => {
    const app = await claimLinkApp();
    const status = await link(app).ensure();
    expect(status.state).toBe("open");
    const view = await until(
      "two pings answered",
      () => fakeView(app),
      (v) => v.pings.filter((p: any) => p.echoed).length >= 2,
    );
    expect(view.opens).toHaveLength(1);
    expect(view.opens[0].subscriptions).toEqual([{ type: "CALLBACK", topic: ROBOT_TOPIC }]);
    expect(view.violations).toEqual([]);
    const s = await consumerJson(app, "status");
    expect(s.link).toMatchObject({ state: "open", lastError: null, opens: [expect.any(Number)] });
    expect(s.link.lastFrameAt).toBeGreaterThanOrEqual(s.link.connectedAt);
    expect(s.transitions.find((t: any) => t.subject === "link")).toMatchObject({ from: "off", to: "open" });
  });

  it("commits each robot message to the inbox before acking it, with source stream", async () => {
    const app = await claimLinkApp();
    await connected(app);
    const body = robotMessage({ text: "over stream" });
    const sent = await sendOverStream(app, body);
    expect(sent.routedTo).not.toBeNull();
    const view = await until(
      "the ack",
      () => fakeView(app),
      (v) => v.deliveries.some((d: any) => d.ackedAt),
    );
    const [event] = await history(app);
    expect(event).toMatchObject({ kind: "robot", source: "stream", dedupKey: `robot:${body.msgId}`, payload: body });
    expect(view.deliveries[0].ackedAt).toBeGreaterThanOrEqual(event.receivedAt);
    expect(view.deliveries[0].ackBody).toEqual({ response: null });
    const s = await consumerJson(app, "status");
    expect(s.link.lastMessageAt).toBeGreaterThanOrEqual(event.receivedAt);
    // First-hand Stream evidence: no callback ever came, so DingTalk delivers over Stream; and with
    // the link holding Stream, consumers long-poll without pause.
    expect(s).toMatchObject({ mode: "stream", pollHintMs: 0 });
  });

  it("stores a message that arrives both ways once, under the path that brought it first", async () => {
    const app = await claimLinkApp();
    await connected(app);
    const body = robotMessage({ text: "both ways" });
    expect((await postRobot(app, body, { secret: linkCredentials(app).clientSecret })).status).toBe(200);
    await sendOverStream(app, body);
    await until(
      "the ack",
      () => fakeView(app),
      (v) => v.deliveries.some((d: any) => d.ackedAt),
    );
    const events = await history(app);
    expect(events).toHaveLength(1);
    expect(events[0].source).toBe("webhook");
    expect((await consumerJson(app, "status")).counters.duplicates).toBe(1);
  });

  it("keeps a frame that is not a valid robot message as a dead letter, then acks it", async () => {
    const app = await claimLinkApp();
    await connected(app);
    const frame = {
      specVersion: "1.0",
      type: "CALLBACK",
      headers: { topic: ROBOT_TOPIC, messageId: "bad-frame-1", contentType: "application/json" },
      data: '{"msgtype":"text"}',
    };
    await fake("raw-frame", { frame, clientId: linkCredentials(app).clientId });
    const dead = await until(
      "a dead letter",
      async () => (await consumerJson(app, "dead-letters")).events,
      (e: any[]) => e.length === 1,
    );
    expect(dead[0]).toMatchObject({
      source: "stream",
      state: "dead",
      lastReason: expect.stringMatching(/^not a valid robot message: msgId/),
    });
    expect(dead[0].payload.invalidStreamFrame).toMatchObject({ messageId: "bad-frame-1", data: '{"msgtype":"text"}' });
    const acks = (await fake("state")).clientFrames.filter((f: any) => f.frame?.headers?.messageId === "bad-frame-1");
    expect(acks).toHaveLength(1);
    // A frame with nothing to ack it by is still kept; a SYSTEM frame the link does not know is acked, never stored.
    await fake("raw-frame", { frame: "not a frame at all", clientId: linkCredentials(app).clientId });
    await fake("raw-frame", {
      frame: { type: "SYSTEM", headers: { topic: "KEEPALIVE", messageId: "ka-1" }, data: "{}" },
      clientId: linkCredentials(app).clientId,
    });
    const both = await until(
      "two dead letters",
      async () => (await consumerJson(app, "dead-letters")).events,
      (e: any[]) => e.length === 2,
    );
    expect(both[1].lastReason).toMatch(/^not a Stream frame/);
    const keepalive = (await fake("state")).clientFrames.filter((f: any) => f.frame?.headers?.messageId === "ka-1");
    expect(keepalive).toHaveLength(1);
  });

  it("on DingTalk's disconnect opens the next connection before the old one closes, losing nothing", async () => {
    const app = await claimLinkApp();
    const first = (await connected(app)).live[0];
    await fake("disconnect", { connectionId: first.id });
    const during = await until(
      "a second connection beside the draining one",
      () => fakeView(app),
      (v) => v.live.length === 2,
    );
    expect(during.live.find((c: any) => c.id === first.id).state).toBe("draining");
    const msgs = [robotMessage({ text: "a" }), robotMessage({ text: "b" })];
    for (const m of msgs) await sendOverStream(app, m);
    await until(
      "the old one closed",
      () => fakeView(app),
      (v) => v.live.length === 1 && v.live[0].id !== first.id,
    );
    await committed(app, 2);
    const view = await fakeView(app);
    expect(view.opens).toHaveLength(2);
    expect(view.violations).toEqual([]);
    expect((await consumerJson(app, "status")).link.counters.disconnects).toBe(1);
  });

  it("a connection outlives its open timeout, however it was opened", async () => {
    const app = await claimLinkApp();
    await runInDurableObject(link(app), (l) => {
      l.timing.openTimeoutMs = 300;
    });
    const first = (await connected(app)).live[0];
    await fake("disconnect", { connectionId: first.id });
    await until(
      "the replacement",
      () => fakeView(app),
      (v) => v.live.length === 1 && v.live[0].id !== first.id,
    );
    await new Promise((r) => setTimeout(r, 800));
    const view = await fakeView(app);
    expect(view.live).toHaveLength(1);
    expect(view.opens).toHaveLength(2);
  });

  it("after an abrupt drop reconnects with backoff, and messages sent meanwhile arrive", async () => {
    const app = await claimLinkApp();
    await connected(app);
    await fake("drop", { clientId: linkCredentials(app).clientId });
    const m = robotMessage({ text: "while down" });
    await sendOverStream(app, m);
    await reconnected(app);
    await committed(app, 1);
    const s = await consumerJson(app, "status");
    expect(s.link).toMatchObject({ state: "open" });
    expect(s.stream.connected).toBe(true);
    const link = s.transitions.filter((t: any) => t.subject === "link").map((t: any) => t.to);
    expect(link).toEqual(["open", "backoff", "open"]);
  });

  it("a restart of the link object mid-stream loses nothing: the alarm reconnects and DingTalk redelivers", async () => {
    const app = await claimLinkApp();
    await connected(app);
    await restartObject(link(app));
    // Sent while the object is gone: the fake routes to the dead socket or queues it; either way unacked.
    const m = robotMessage({ text: "across the restart" });
    await sendOverStream(app, m);
    await runDurableObjectAlarm(link(app));
    await reconnected(app);
    await committed(app, 1, 15_000); // DingTalk redelivers what was never acked
    expect((await history(app))[0].payload.msgId).toBe(m.msgId);
    // The inbox heard that the connection went with the restart, then that a new one opened.
    const s = await consumerJson(app, "status");
    const moves = s.transitions.filter((t: any) => t.subject === "link");
    expect(moves.map((t: any) => t.to)).toEqual(["open", "backoff", "open"]);
    expect(moves[1].reason).toContain("the link restarted");
  });

  it("treats a socket with no frame for 90 s as dead, closes it and opens another", async () => {
    const app = await claimLinkApp();
    await connected(app);
    await runInDurableObject(link(app), (l) => {
      expect(l.timing.deadAfterMs).toBe(90_000);
      l.timing.deadAfterMs = 1_500; // the fake pings every second
    });
    await fake("mute", { clientId: linkCredentials(app).clientId });
    await new Promise((r) => setTimeout(r, 1_600));
    await runDurableObjectAlarm(link(app));
    const view = await reconnected(app);
    expect(view.connections.filter((c: any) => c.state === "closed")).toHaveLength(1);
  });
});
