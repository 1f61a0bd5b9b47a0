import { describe, expect, it } from "vitest";
import { freshApp } from "../harness/workerd/apps";
import { consumerJson, postRobot, robotMessage } from "../harness/workerd/dingtalk";
import { inboxWithClock, ingestRobot, untilWaiting } from "../harness/workerd/inbox";

describe("long poll", () => {
  it("answers as soon as an event commits, not at the end of waitMs", async () => {
    const app = freshApp();
    const started = Date.now();
    const waiting = consumerJson(app, "pull", { waitMs: 20_000 });
    await untilWaiting(app, 1);
    await postRobot(app, robotMessage({ text: "wake" }));
    const { events } = await waiting;
    expect(events).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("wakes when a lease comes back through a nack", async () => {
    const app = freshApp();
    await ingestRobot(app, "m1");
    const { events } = await consumerJson(app, "pull", {});
    const waiting = consumerJson(app, "pull", { waitMs: 20_000 });
    await untilWaiting(app, 1);
    await consumerJson(app, "nack", { leaseIds: [events[0].leaseId] });
    expect((await waiting).events[0]).toMatchObject({ seq: 1, attempt: 2 });
  });

  it("wakes when an expired lease is reclaimed by the alarm", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await ingestRobot(app, "m1");
    await consumerJson(app, "pull", { leaseMs: 2_000 });
    const waiting = consumerJson(app, "pull", { waitMs: 20_000 });
    await untilWaiting(app, 1);
    await inbox.advance(2_000);
    expect((await waiting).events[0]).toMatchObject({ seq: 1, attempt: 2 });
  });

  it("answers empty after waitMs when nothing arrives", async () => {
    const app = freshApp();
    const started = Date.now();
    const res = await consumerJson(app, "pull", { waitMs: 300 });
    expect(res.events).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(res).toMatchObject({ mode: "unknown", pollHintMs: 0 });
  });

  it("serves waiting pulls in the order they arrived", async () => {
    const app = freshApp();
    const first = consumerJson(app, "pull", { waitMs: 1_500, consumer: "first" });
    await untilWaiting(app, 1);
    const second = consumerJson(app, "pull", { waitMs: 1_500, consumer: "second" });
    await untilWaiting(app, 2);
    await ingestRobot(app, "only-one");
    expect((await first).events.map((e: any) => e.dedupKey)).toEqual(["robot:only-one"]);
    expect((await second).events).toEqual([]);
  });

  it("a consumer's release ends its own older long poll, so nothing is handed to a dead client", async () => {
    const app = freshApp();
    const stale = consumerJson(app, "pull", { waitMs: 5_000, consumer: "gw" });
    await untilWaiting(app, 1);
    const fresh = consumerJson(app, "pull", { waitMs: 5_000, consumer: "gw", release: true });
    expect((await stale).events).toEqual([]);
    await ingestRobot(app, "after-restart");
    expect((await fresh).events.map((e: any) => e.dedupKey)).toEqual(["robot:after-restart"]);
  });

  it("many waiters share the events that arrive, none handed out twice", async () => {
    const app = freshApp();
    const waiters = Array.from({ length: 5 }, (_, i) => consumerJson(app, "pull", { waitMs: 1_500, consumer: `c${i}` }));
    await untilWaiting(app, 5);
    for (let i = 0; i < 3; i++) await ingestRobot(app, `m${i}`);
    const got = (await Promise.all(waiters)).flatMap((r) => r.events.map((e: any) => e.seq));
    expect(got.sort()).toEqual([1, 2, 3]);
  });
});
