// Ordering through the consumer API: one conversation's events go to one consumer at a time and in
// seq order, a held key never holds up another, and the ways a key is freed (ack, nack, dead
// letter, lease expiry, release, `held`) each move it on.
import { describe, expect, it } from "vitest";
import { freshApp } from "../harness/workerd/apps";
import { consumerJson } from "../harness/workerd/dingtalk";
import { inboxWithClock, ingestRobot, untilWaiting } from "../harness/workerd/inbox";

const pull = (app: string, body: Record<string, unknown> = {}) => consumerJson(app, "pull", body);
const msgIds = (r: { events: any[] }) => r.events.map((e) => e.payload.msgId);
const leaseOf = (r: { events: any[] }, msgId: string) => r.events.find((e) => e.payload.msgId === msgId)!.leaseId as string;

/** Stores messages in order; each entry is [msgId, conversation] or [msgId, conversation, sender]. */
async function store(app: string, ...messages: [string, string, string?][]) {
  for (const [msgId, conversationId, senderStaffId] of messages) {
    await ingestRobot(app, msgId, { conversationId, ...(senderStaffId ? { senderStaffId } : {}) });
  }
}

describe("ordering by conversation", () => {
  it("never leases one conversation to two consumers at once, and its holder gets the follow-ups", async () => {
    const app = freshApp();
    await store(app, ["m1", "c1"], ["m2", "c1"], ["m3", "c2"]);
    const a = await pull(app, { consumer: "a", max: 1 });
    expect(msgIds(a)).toEqual(["m1"]);
    expect(a.events[0].orderingKey).toBe("c1");
    expect(msgIds(await pull(app, { consumer: "b", max: 10 }))).toEqual(["m3"]);
    expect(msgIds(await pull(app, { consumer: "b", max: 10 }))).toEqual([]);
    expect(msgIds(await pull(app, { consumer: "a", max: 10 }))).toEqual(["m2"]);
    expect(await consumerJson(app, "status")).toMatchObject({ ordering: "conversation", orderingKeysHeld: 2 });
  });

  it("fills a pull from as many conversations as it needs: every front first, then what follows, oldest first", async () => {
    const app = freshApp();
    await store(app, ["a1", "A"], ["a2", "A"], ["b1", "B"], ["a3", "A"], ["c1", "C"], ["b2", "B"]);
    // The fronts a1, b1, c1 and then the oldest follow-up, a2; answered in seq order.
    expect(msgIds(await pull(app, { consumer: "x", max: 4 }))).toEqual(["a1", "a2", "b1", "c1"]);
    expect(msgIds(await pull(app, { consumer: "x", max: 4 }))).toEqual(["a3", "b2"]);
  });

  it("hands a conversation out in seq order: nothing overtakes an event waiting out a nack delay", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await store(app, ["m1", "c1"], ["m2", "c1"]);
    const first = await pull(app, { consumer: "a", max: 1 });
    await consumerJson(app, "nack", { leaseIds: [leaseOf(first, "m1")], delayMs: 10_000 });
    expect(msgIds(await pull(app, { consumer: "a", max: 10 }))).toEqual([]);
    expect(msgIds(await pull(app, { consumer: "b", max: 10 }))).toEqual([]);
    await inbox.advance(10_000);
    expect(msgIds(await pull(app, { consumer: "b", max: 10 }))).toEqual(["m1", "m2"]);
  });

  it("a dead letter frees its conversation for the next event", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await inbox.set({ maxAttempts: 1 });
    await store(app, ["m1", "c1"], ["m2", "c1"]);
    const first = await pull(app, { consumer: "a", max: 1 });
    const nack = await consumerJson(app, "nack", { leaseIds: [leaseOf(first, "m1")], reason: "poison" });
    expect(nack.deadLettered).toHaveLength(1);
    expect(msgIds(await pull(app, { consumer: "b" }))).toEqual(["m2"]);
  });

  it("a lease that runs out frees the conversation: another consumer takes it from where it stood", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await store(app, ["m1", "c1"], ["m2", "c1"]);
    await pull(app, { consumer: "a", max: 1, leaseMs: 5_000 });
    expect(msgIds(await pull(app, { consumer: "b" }))).toEqual([]);
    await inbox.advance(5_000);
    const b = await pull(app, { consumer: "b" });
    expect(b.events.map((e: any) => [e.payload.msgId, e.attempt])).toEqual([
      ["m1", 2],
      ["m2", 1],
    ]);
  });

  it("an ack frees the conversation once its holder holds none of it", async () => {
    const app = freshApp();
    await store(app, ["m1", "c1"], ["m2", "c1"], ["m3", "c1"]);
    const a = await pull(app, { consumer: "a", max: 2 });
    await consumerJson(app, "ack", { leaseIds: [leaseOf(a, "m1")] });
    expect(msgIds(await pull(app, { consumer: "b" }))).toEqual([]);
    await consumerJson(app, "ack", { leaseIds: [leaseOf(a, "m2")] });
    expect(msgIds(await pull(app, { consumer: "b" }))).toEqual(["m3"]);
  });

  it("anonymous pulls take only conversations nobody holds, one event each", async () => {
    const app = freshApp();
    await store(app, ["m1", "c1"], ["m2", "c1"], ["m3", "c2"]);
    const anon = await pull(app, { max: 10 });
    expect(msgIds(anon)).toEqual(["m1", "m3"]);
    expect(msgIds(await pull(app, { max: 10 }))).toEqual([]);
    expect(msgIds(await pull(app, { consumer: "a", max: 10 }))).toEqual([]);
    await consumerJson(app, "ack", { leaseIds: [leaseOf(anon, "m1")] });
    expect(msgIds(await pull(app, { max: 10 }))).toEqual(["m2"]);
  });

  it("messages without a conversation, and event pushes, have no key and wait for nothing", async () => {
    const app = freshApp();
    await store(app, ["m1", "c1"], ["m2", "c1"]);
    await ingestRobot(app, "loose", { conversationId: "" });
    await pull(app, { consumer: "a", max: 1 });
    const b = await pull(app, { consumer: "b", max: 10 });
    expect(b.events.map((e: any) => [e.payload.msgId, e.orderingKey])).toEqual([["loose", null]]);
  });

  it("a waiting poll is served with what its consumer holds, while a poll that came first waits on", async () => {
    const app = freshApp();
    await store(app, ["m1", "c1"]);
    await pull(app, { consumer: "a", max: 1 });
    const b = pull(app, { consumer: "b", waitMs: 3_000 });
    await untilWaiting(app, 1);
    const a = pull(app, { consumer: "a", waitMs: 3_000 });
    await untilWaiting(app, 2);
    await store(app, ["m2", "c1"]);
    expect(msgIds(await a)).toEqual(["m2"]);
    expect(msgIds(await b)).toEqual([]);
  });
});

describe("ordering by sender, and no ordering", () => {
  it("by sender: each person's turns in a group are their own key", async () => {
    const app = freshApp("sender");
    await store(app, ["m1", "g1", "s1"], ["m2", "g1", "s2"], ["m3", "g1", "s1"]);
    const a = await pull(app, { consumer: "a", max: 1 });
    expect(a.events[0]).toMatchObject({ orderingKey: "g1\ns1" });
    expect(msgIds(await pull(app, { consumer: "b", max: 10 }))).toEqual(["m2"]);
    expect((await consumerJson(app, "status")).ordering).toBe("sender");
  });

  it("off: no keys, any consumer takes any event", async () => {
    const app = freshApp("off");
    await store(app, ["m1", "c1"], ["m2", "c1"]);
    expect((await pull(app, { consumer: "a", max: 1 })).events[0].orderingKey).toBeNull();
    expect(msgIds(await pull(app, { consumer: "b", max: 10 }))).toEqual(["m2"]);
  });
});

describe("one waiting poll per consumer, and held leases", () => {
  it("a new pull from a consumer ends its older poll at once, empty", async () => {
    const app = freshApp();
    const started = Date.now();
    const older = pull(app, { consumer: "a", waitMs: 20_000 });
    await untilWaiting(app, 1);
    const newer = pull(app, { consumer: "a", waitMs: 20_000 });
    expect(msgIds(await older)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5_000);
    await store(app, ["m1", "c1"]);
    expect(msgIds(await newer)).toEqual(["m1"]);
  });

  it("leases a consumer no longer lists in held come back at once, their attempt not counted", async () => {
    const app = freshApp();
    await store(app, ["m1", "c1"], ["m2", "c2"]);
    const first = await pull(app, { consumer: "a", max: 10 });
    // The answer carrying m2 never reached the consumer: it holds m1 only.
    const next = await pull(app, { consumer: "a", max: 1, held: [leaseOf(first, "m1")] });
    expect(next.released).toBe(1);
    expect(next.events.map((e: any) => [e.payload.msgId, e.attempt])).toEqual([["m2", 1]]);
    // A stopping consumer hands back with max 0: nothing new leased, nothing counted.
    const handBack = await pull(app, { consumer: "a", max: 0, held: [leaseOf(first, "m1")] });
    expect([handBack.events, handBack.released]).toEqual([[], 1]);
    const after = await pull(app, { consumer: "b", max: 10 });
    expect(after.events.map((e: any) => [e.payload.msgId, e.attempt])).toEqual([["m2", 1]]);
    await consumerJson(app, "ack", { leaseIds: [leaseOf(first, "m1")] }).then((r) => expect(r.acked).toHaveLength(1));
  });

  it("held needs a consumer", async () => {
    const app = freshApp();
    const res = await pull(app, { held: ["lse_x"] }).catch((e) => e);
    expect(String(res)).toMatch(/400.*held needs the consumer/);
  });
});
