import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { freshApp } from "../harness/workerd/apps";
import { consumerFetch, consumerJson } from "../harness/workerd/dingtalk";
import { inboxWithClock, ingestRobot } from "../harness/workerd/inbox";

const pull = (app: string, body: Record<string, unknown> = {}) => consumerJson(app, "pull", body);

describe("leases", () => {
  it("hands ready events out oldest first, each exactly once while leased", async () => {
    const app = freshApp();
    for (let i = 0; i < 5; i++) await ingestRobot(app, `m${i}`);
    const first = await pull(app, { max: 3, consumer: "a" });
    expect(first.events.map((e: any) => e.seq)).toEqual([1, 2, 3]);
    expect(first.events[0]).toMatchObject({ kind: "robot", attempt: 1, dedupKey: "robot:m0" });
    expect(first.events[0].leaseId).toMatch(/^lse_/);
    const second = await pull(app, { max: 10, consumer: "b" });
    expect(second.events.map((e: any) => e.seq)).toEqual([4, 5]);
    expect((await pull(app, { max: 10 })).events).toEqual([]);
    const status = await consumerJson(app, "status");
    expect(status).toMatchObject({ depth: 5, leased: 5, ready: 0 });
  });

  it("ack completes events and reports stale or unknown leases without failing", async () => {
    const app = freshApp();
    await ingestRobot(app, "m1");
    const { events } = await pull(app);
    const leaseId = events[0].leaseId;
    expect(await consumerJson(app, "ack", { leaseIds: [leaseId, "lse_unknown"] })).toEqual({ acked: [leaseId], stale: ["lse_unknown"] });
    expect(await consumerJson(app, "ack", { leaseIds: [leaseId] })).toEqual({ acked: [], stale: [leaseId] });
    expect((await consumerJson(app, "status")).depth).toBe(0);
    const { events: history } = await consumerJson(app, "events");
    expect(history[0]).toMatchObject({ state: "acked" });
  });

  it("an expired lease comes back on its own through the alarm, with a higher attempt", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await ingestRobot(app, "m1");
    const { events } = await pull(app, { leaseMs: 5_000 });
    await inbox.advance(4_999);
    expect((await consumerJson(app, "status")).leased).toBe(1);
    await inbox.advance(1);
    const status = await consumerJson(app, "status");
    expect(status).toMatchObject({ leased: 0, ready: 1 });
    expect(status.counters.expired).toBe(1);
    const again = await pull(app);
    expect(again.events[0]).toMatchObject({ seq: 1, attempt: 2 });
    expect(again.events[0].leaseId).not.toBe(events[0].leaseId);
    // The old lease can no longer ack.
    expect((await consumerJson(app, "ack", { leaseIds: [events[0].leaseId] })).stale).toEqual([events[0].leaseId]);
  });

  it("a pull reclaims expired leases itself, alarm or not", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await ingestRobot(app, "m1");
    await pull(app, { leaseMs: 1_000 });
    inbox.clock.advance(1_000);
    expect((await pull(app)).events[0]).toMatchObject({ seq: 1, attempt: 2 });
  });

  it("moves an event to the dead letters after MAX_ATTEMPTS leases, with its last reason, and redrives it", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await inbox.set({ maxAttempts: 3 });
    for (const msgId of ["poison", "fine"]) await ingestRobot(app, msgId);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const { events } = await pull(app, { max: 1 });
      expect(events[0]).toMatchObject({ dedupKey: "robot:poison", attempt });
      const nacked = await consumerJson(app, "nack", { leaseIds: [events[0].leaseId], reason: `boom ${attempt}` });
      expect(nacked.deadLettered.length).toBe(attempt === 3 ? 1 : 0);
    }
    expect((await pull(app, { max: 5 })).events.map((e: any) => e.dedupKey)).toEqual(["robot:fine"]);
    const dead = await consumerJson(app, "dead-letters");
    expect(dead.events).toHaveLength(1);
    expect(dead.events[0]).toMatchObject({ dedupKey: "robot:poison", state: "dead", attempt: 3, lastReason: "boom 3" });
    expect((await consumerJson(app, "status")).deadLetters).toBe(1);

    expect(await consumerJson(app, "dead-letters/redrive", { ids: [dead.events[0].id] })).toEqual({ redriven: 1 });
    const back = await pull(app);
    expect(back.events[0]).toMatchObject({ dedupKey: "robot:poison", attempt: 1 });
  });

  it("an expiring lease past the attempt limit also dead-letters", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await inbox.set({ maxAttempts: 1 });
    await ingestRobot(app, "m1");
    await pull(app, { leaseMs: 1_000 });
    await inbox.advance(1_000);
    const dead = await consumerJson(app, "dead-letters");
    expect(dead.events[0]).toMatchObject({ lastReason: "lease expired", attempt: 1 });
  });

  it("nack with a delay hides the event until the delay ends", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await ingestRobot(app, "m1");
    const { events } = await pull(app);
    await consumerJson(app, "nack", { leaseIds: [events[0].leaseId], delayMs: 10_000 });
    expect((await pull(app)).events).toEqual([]);
    inbox.clock.advance(9_999);
    expect((await pull(app)).events).toEqual([]);
    inbox.clock.advance(1);
    expect((await pull(app)).events[0]).toMatchObject({ seq: 1, attempt: 2 });
  });

  it("extend keeps an event leased past its first expiry", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await ingestRobot(app, "m1");
    const { events } = await pull(app, { leaseMs: 5_000 });
    inbox.clock.advance(4_000);
    const extended = await consumerJson(app, "extend", { leaseIds: [events[0].leaseId, "lse_gone"], leaseMs: 60_000 });
    expect(extended).toMatchObject({ extended: [events[0].leaseId], stale: ["lse_gone"], leaseExpiresAt: inbox.clock.now() + 60_000 });
    await inbox.advance(30_000);
    expect((await consumerJson(app, "status")).leased).toBe(1);
    expect((await consumerJson(app, "ack", { leaseIds: [events[0].leaseId] })).acked).toHaveLength(1);
  });

  it("release returns every event leased to that consumer at once, and only those", async () => {
    const app = freshApp();
    for (let i = 0; i < 4; i++) await ingestRobot(app, `m${i}`);
    await pull(app, { max: 2, consumer: "gw-1" });
    await pull(app, { max: 1, consumer: "gw-2" });
    const restarted = await pull(app, { max: 10, consumer: "gw-1", release: true });
    expect(restarted.released).toBe(2);
    expect(restarted.events.map((e: any) => e.seq)).toEqual([1, 2, 4]);
    expect(restarted.events.map((e: any) => e.attempt)).toEqual([2, 2, 1]);
    expect((await consumerJson(app, "status")).leased).toBe(4);
  });

  it("history pages through everything within retention", async () => {
    const app = freshApp();
    for (let i = 0; i < 7; i++) await ingestRobot(app, `m${i}`);
    const page1 = await consumerJson(app, "events?limit=3");
    expect(page1.events.map((e: any) => e.seq)).toEqual([1, 2, 3]);
    const page2 = await consumerJson(app, `events?afterSeq=${page1.nextAfterSeq}&limit=10`);
    expect(page2.events.map((e: any) => e.seq)).toEqual([4, 5, 6, 7]);
  });
});

describe("large payloads", () => {
  it("a pull or a history page stops at about 8 MiB of payload, and the rest follows", async () => {
    const app = freshApp();
    const pad = "x".repeat(900 * 1024);
    for (let i = 0; i < 12; i++) await ingestRobot(app, `big${i}`, { pad });
    const first = await pull(app, { max: 100 });
    expect(first.events.length).toBeGreaterThanOrEqual(9);
    expect(first.events.length).toBeLessThan(12);
    const second = await pull(app, { max: 100 });
    expect(first.events.length + second.events.length).toBe(12);
    const page = await consumerJson(app, "events?limit=500");
    expect(page.events.length).toBe(first.events.length);
    const rest = await consumerJson(app, `events?afterSeq=${page.nextAfterSeq}&limit=500`);
    expect(page.events.length + rest.events.length).toBe(12);
  });

  it("answers a leased event as the API's fields in order, numbers as integers, the payload's text as sent", async () => {
    // The lease writes each event's JSON in SQLite (src/inbox/leased-json.ts): pinned here to the text
    // a JavaScript serialiser would give, with a key that needs escaping and a payload no parse may touch.
    const app = freshApp("sender");
    const payload =
      '{"msgId":"exact-1", "msgtype":"text","text":{"content":"a \\"quote\\" \\u00e9 1.50"},"conversationId":"c\\"x","senderStaffId":"s1","n":1.50}';
    await env.INBOX.getByName(app).ingest({
      kind: "robot",
      source: "webhook",
      dedupKey: "robot:exact-1",
      payload,
      conversationId: 'c"x',
      sender: "s1",
      msgId: "exact-1",
    });
    const text = await (await consumerFetch(app, "pull", { consumer: "gw", max: 1 })).text();
    const [event] = JSON.parse(text).events;
    const expected = `${JSON.stringify({
      id: event.id,
      seq: 1,
      kind: "robot",
      source: "webhook",
      dedupKey: "robot:exact-1",
      receivedAt: event.receivedAt,
      orderingKey: 'c"x\ns1',
      attempt: 1,
      leaseId: event.leaseId,
      leaseExpiresAt: event.leaseExpiresAt,
    }).slice(0, -1)},"payload":${payload}}`;
    expect(text).toContain(`"events":[${expected}]`);
    expect(Number.isInteger(event.receivedAt) && Number.isInteger(event.leaseExpiresAt)).toBe(true);
    // The fields a leased and a stored event share come from two writers (SQL here, JavaScript for
    // history): the same names, in the same order, with the same values.
    const [stored] = (await consumerJson(app, "events")).events;
    const common = Object.keys(stored).slice(0, Object.keys(stored).indexOf("state"));
    expect(Object.keys(event).slice(0, common.length)).toEqual(common);
    for (const key of [...common, "payload"]) expect(event[key], key).toEqual(stored[key]);
  });
});
