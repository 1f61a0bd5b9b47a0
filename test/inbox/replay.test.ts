// Replay (issue 24, item 2): delivered events queued again as new deliveries with the same payload,
// a `replayOf` naming the original, a fresh attempt count and the same ordering key; bounded; in
// the timeline. And history filtered by conversation, message or sender.
import { describe, expect, it } from "vitest";
import { freshApp } from "../harness/workerd/apps";
import { consumerFetch, consumerJson } from "../harness/workerd/dingtalk";
import { ingestRobot } from "../harness/workerd/inbox";

async function deliverAll(app: string) {
  for (;;) {
    const { events } = await consumerJson(app, "pull", { consumer: "gw", max: 100 });
    if (!events.length) return;
    await consumerJson(app, "ack", { leaseIds: events.map((e: any) => e.leaseId) });
  }
}

/** Stores robot messages in turn, each a [msgId, conversationId, sender]. */
async function ingestMessages(app: string, ...messages: [string, string, string][]) {
  for (const [msgId, conversationId, senderStaffId] of messages) await ingestRobot(app, msgId, { conversationId, senderStaffId });
}

describe("replay", () => {
  it("queues delivered events again as new deliveries, in order per conversation, and records it", async () => {
    const app = freshApp();
    await ingestMessages(app, ["a1", "A", "s1"], ["b1", "B", "s2"], ["a2", "A", "s1"]);
    await deliverAll(app);
    const originals = (await consumerJson(app, "events")).events;
    const res = await consumerJson(app, "events/replay", { fromSeq: 1, toSeq: 3, conversationId: "A" });
    expect(res).toEqual({ replayed: 2, skipped: 0, nextFromSeq: null });
    const first = await consumerJson(app, "pull", { consumer: "gw", max: 1 });
    expect(first.events).toHaveLength(1);
    expect(first.events[0]).toMatchObject({
      attempt: 1,
      orderingKey: "A",
      replayOf: originals[0].id,
      payload: originals[0].payload,
    });
    expect(first.events[0].id).not.toBe(originals[0].id);
    // The conversation's next replayed event waits for its holder, like any other.
    expect((await consumerJson(app, "pull", { consumer: "other" })).events).toEqual([]);
    expect((await consumerJson(app, "pull", { consumer: "gw" })).events.map((e: any) => e.payload.msgId)).toEqual(["a2"]);
    const s = await consumerJson(app, "status");
    expect(s.transitions[0]).toMatchObject({
      subject: "replay",
      to: "queued",
      reason: expect.stringMatching(/replayed 2 events \(seq 1 to 3 of conversation A\)/),
    });
  });

  it("replays by id, skips what is not delivered yet, and refuses an ambiguous request", async () => {
    const app = freshApp();
    await ingestRobot(app, "done");
    await deliverAll(app);
    await ingestRobot(app, "waiting");
    const ids = (await consumerJson(app, "events")).events.map((e: any) => e.id);
    expect(await consumerJson(app, "events/replay", { ids })).toEqual({ replayed: 1, skipped: 1, nextFromSeq: null });
    const both = await consumerFetch(app, "events/replay", { ids, fromSeq: 1 });
    expect(both.status).toBe(400);
    expect(((await both.json()) as any).error.message).toMatch(/^ids: give ids, or a range/);
    expect((await consumerFetch(app, "events/replay", { fromSeq: 5, toSeq: 1 })).status).toBe(400);
  });
});

describe("history filters", () => {
  it("reads one conversation, one message, or one sender's messages", async () => {
    const app = freshApp();
    await ingestMessages(app, ["m1", "A", "alice"], ["m2", "B", "bob"], ["m3", "A", "bob"]);
    const ids = async (q: string) => (await consumerJson(app, `events?${q}`)).events.map((e: any) => e.payload.msgId);
    expect(await ids("conversationId=A")).toEqual(["m1", "m3"]);
    expect(await ids("msgId=m2")).toEqual(["m2"]);
    expect(await ids("sender=bob")).toEqual(["m2", "m3"]);
    expect(await ids("sender=bob&conversationId=A&order=desc")).toEqual(["m3"]);
  });
});
