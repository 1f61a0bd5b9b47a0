// Retention deletes only what was delivered; an undelivered backlog is kept and alerted on, dead
// letters go only when purged, and the object's storage is watched.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { freshApp } from "../harness/workerd/apps";
import { consumerFetch, consumerJson, postRobot, robotMessage } from "../harness/workerd/dingtalk";
import { inboxWithClock, ingestRobot, leasedEvents } from "../harness/workerd/inbox";

const DAY = 86_400_000;

async function dedupKeys(app: string): Promise<string[]> {
  return (await consumerJson(app, "events?limit=500")).events.map((e: any) => e.dedupKey);
}

/** Payloads are kept in a table of their own (schema v11): an event's goes when the event goes. */
function storedPayloads(stub: DurableObjectStub): Promise<number> {
  return runInDurableObject(stub, (_i, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM event_payloads").one().n);
}

describe("retention", () => {
  it("sweeps acked events and their dedup keys a retention period after the ack, on its alarm", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await ingestRobot(app, "old");
    const [event] = leasedEvents(await inbox.stub.pull({ max: 1, waitMs: 0, release: false }));
    await inbox.stub.ack([event!.leaseId]);
    // The sweep runs hourly: an hour before the end of retention the event is there, an hour after it is gone.
    await inbox.advance(7 * DAY - 3_600_000);
    expect(await dedupKeys(app)).toEqual(["robot:old"]);
    expect(await storedPayloads(inbox.stub)).toBe(1);
    await inbox.advance(2 * 3_600_000);
    expect(await dedupKeys(app)).toEqual([]);
    expect(await storedPayloads(inbox.stub)).toBe(0);
    // The dedup key went with the event: the same msgId is new again after retention.
    expect((await ingestRobot(app, "old")).stored).toBe(true);
  });

  it("never deletes a ready, leased or dead event by age, and alerts on the old backlog", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await inbox.set({ maxAttempts: 1 });
    for (const id of ["ready", "leased", "dead"]) await ingestRobot(app, id);
    const pulled = leasedEvents(await inbox.stub.pull({ max: 2, waitMs: 0, release: false, leaseMs: 30 * DAY }));
    await inbox.stub.nack([pulled[1]!.leaseId], 0, "handler failed");
    await inbox.advance(8 * DAY);
    expect(await dedupKeys(app)).toEqual(["robot:ready", "robot:leased", "robot:dead"]);
    const status = await consumerJson(app, "status");
    expect(status).toMatchObject({ depth: 2, deadLetters: 1, retention: { pastRetention: true } });
    expect(status.oldestUndeliveredAgeMs).toBeGreaterThan(7 * DAY);
    expect(status.incidents.map((i: any) => i.incident)).toContain("backlog_past_retention");
    expect(status.alerts[0]).toMatchObject({ incident: "backlog_past_retention", phase: "open" });
    expect(status.alerts[0].title).toMatch(/older than the retention/);
  });

  it("resolves the backlog alert once the old events are delivered or purged", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await inbox.set({ maxAttempts: 1 });
    await ingestRobot(app, "a");
    await ingestRobot(app, "b");
    const [a, b] = leasedEvents(await inbox.stub.pull({ max: 2, waitMs: 0, release: false }));
    await inbox.stub.ack([a!.leaseId]);
    await inbox.stub.nack([b!.leaseId], 0, "poison");
    await inbox.advance(8 * DAY);
    expect((await consumerJson(app, "status")).incidents.map((i: any) => i.incident)).toEqual(["backlog_past_retention"]);
    expect(await consumerJson(app, "dead-letters/purge", { all: true })).toEqual({ purged: 1 });
    await inbox.advance(3_600_000);
    const status = await consumerJson(app, "status");
    expect(status.incidents).toEqual([]);
    expect(status.alerts[0]).toMatchObject({ incident: "backlog_past_retention", phase: "resolved" });
  });

  it("purges dead letters only when told which, or told all", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await inbox.set({ maxAttempts: 1 });
    for (const id of ["x", "y", "z"]) await ingestRobot(app, id);
    const leased = leasedEvents(await inbox.stub.pull({ max: 3, waitMs: 0, release: false }));
    await inbox.stub.nack(
      leased.map((e) => e.leaseId),
      0,
      "poison",
    );
    const res = await consumerFetch(app, "dead-letters/purge", {});
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.message).toMatch(/^ids: name the dead letters/);
    expect(await consumerJson(app, "dead-letters/purge", { ids: [leased[0]!.id] })).toEqual({ purged: 1 });
    expect((await consumerJson(app, "dead-letters")).events.map((e: any) => e.dedupKey)).toEqual(["robot:y", "robot:z"]);
    expect(await storedPayloads(inbox.stub)).toBe(2);
    expect(await consumerJson(app, "dead-letters/purge", { all: true })).toEqual({ purged: 2 });
    expect((await consumerJson(app, "status")).deadLetters).toBe(0);
    expect(await storedPayloads(inbox.stub)).toBe(0);
  });

  it("shows the object's storage size, and alerts well before the limit", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await ingestRobot(app, "m1");
    const before = await consumerJson(app, "status");
    expect(before.storage.bytes).toBeGreaterThan(0);
    expect(before.storage.alertAtBytes).toBeLessThan(before.storage.limitBytes);
    await inbox.set({ storageAlertBytes: 1 });
    await inbox.advance(3_600_000);
    const status = await consumerJson(app, "status");
    expect(status.incidents.map((i: any) => i.incident)).toContain("storage_high");
    expect(status.alerts.find((a: any) => a.incident === "storage_high")).toMatchObject({ phase: "open" });
  });

  it("keeps offline replies, signatures and Stream msgIds bounded", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await inbox.stub.heartbeat({ consumer: "gw", stream: { connected: true, msgIds: ["s1", "s2"] } });
    expect((await postRobot(app, robotMessage())).status).toBe(200);
    const counts = () =>
      runInDurableObject(inbox.stub, (_i, state) =>
        ["stream_seen", "robot_signs", "offline_replies", "consumers"].map(
          (t) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`).one().n,
        ),
      );
    // An outage's offline reply, as the inbox records one (an outage takes hours to stage here).
    await runInDurableObject(inbox.stub, (_i, state) => {
      state.storage.sql.exec("INSERT INTO offline_replies (conversation_id, outage_since) VALUES ('cid', ?)", inbox.clock.now());
    });
    expect((await counts()).every((n) => n > 0)).toBe(true);
    await inbox.advance(8 * DAY);
    expect(await counts()).toEqual([0, 0, 0, 0]);
  });

  it("caps what a token holder can make it remember: Stream msgIds and consumer ids", async () => {
    const app = freshApp();
    const { stub } = await inboxWithClock(app);
    for (let i = 0; i < 202; i++) {
      const msgIds = Array.from({ length: 500 }, (_, j) => `m-${i}-${j}`);
      await stub.heartbeat({ consumer: `gw-${i}`, stream: { connected: true, msgIds } });
    }
    for (let i = 0; i < 900; i++) await stub.heartbeat({ consumer: `extra-${i}`, stream: undefined });
    const [seen, consumers] = await runInDurableObject(stub, (_i, state) =>
      ["stream_seen", "consumers"].map((t) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`).one().n),
    );
    expect(seen).toBe(100_000);
    expect(consumers).toBe(1_000);
  });
});
