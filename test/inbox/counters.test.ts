// The counters in status tell the truth: every path into the dead letters counts, and so does every
// Stream duplicate, whenever it was noticed.
import { describe, expect, it } from "vitest";
import { freshApp } from "../harness/workerd/apps";
import { consumerJson } from "../harness/workerd/dingtalk";
import { inboxWithClock, ingestRobot, leasedEvents } from "../harness/workerd/inbox";

describe("counters", () => {
  it("deadLettered counts dead letters made by nack, by lease expiry and by release", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await inbox.set({ maxAttempts: 1 });
    for (const id of ["nacked", "expired", "released"]) await ingestRobot(app, id);
    const [a] = leasedEvents(await inbox.stub.pull({ max: 1, waitMs: 0, release: false }));
    await inbox.stub.nack([a!.leaseId], 0, "bad");
    await inbox.stub.pull({ max: 1, waitMs: 0, release: false, leaseMs: 1_000 });
    await inbox.advance(1_000);
    await inbox.stub.pull({ max: 1, waitMs: 0, release: false, consumer: "gw" });
    await inbox.stub.pull({ max: 0, waitMs: 0, release: true, consumer: "gw" });
    const s = await consumerJson(app, "status");
    expect(s.deadLetters).toBe(3);
    expect(s.counters).toMatchObject({ deadLettered: 3, nacked: 1, expired: 1 });
    const reasons = (await consumerJson(app, "dead-letters")).events.map((e: any) => e.lastReason);
    expect(reasons).toEqual(["bad", "lease expired", "released by its consumer"]);
  });

  it("streamSuppressed counts duplicates suppressed at ingest as well as later, and each says why", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await ingestRobot(app, "later");
    await inbox.stub.heartbeat({ consumer: "gw", stream: { connected: true, msgIds: ["later", "first"] } });
    await ingestRobot(app, "first");
    const s = await consumerJson(app, "status");
    expect(s.counters.streamSuppressed).toBe(2);
    expect(s.depth).toBe(0);
    const history = (await consumerJson(app, "events")).events;
    expect(history.map((e: any) => [e.dedupKey, e.state, e.lastReason])).toEqual([
      ["robot:later", "suppressed", "already delivered over Stream"],
      ["robot:first", "suppressed", "the gateway had already reported this msgId over its own Stream"],
    ]);
  });
});
