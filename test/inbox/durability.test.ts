import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/lib/clock";
import { consumerJson, freshApp, postRobot, robotMessage } from "../support/dingtalk";

describe("the inbox keeps what it acknowledged", () => {
  it("an event survives the object's eviction", async () => {
    const app = freshApp();
    const body = robotMessage({ text: "survive" });
    expect((await postRobot(app, body)).status).toBe(200);
    const stub = env.INBOX.getByName(app);
    // Throw the live instance away; the next call builds a new one from SQLite alone.
    await runInDurableObject(stub, (_instance, state) => {
      state.abort("evicted by the test");
    }).catch(() => {});
    const { events } = await consumerJson(app, "pull", { max: 10 });
    expect(events).toHaveLength(1);
    expect(events[0].payload).toEqual(body);
    expect((await consumerJson(app, "status")).mode).toBe("webhook");
  });

  it("the retention sweep drops events and dedup keys past RETENTION_DAYS, on its alarm", async () => {
    const app = freshApp();
    const old = robotMessage();
    await postRobot(app, old);
    const stub = env.INBOX.getByName(app);
    const clock = new ManualClock(Date.now());
    await runInDurableObject(stub, (inbox) => {
      inbox.clock = clock;
    });
    clock.advance(6 * 24 * 3600_000);
    await runInDurableObject(stub, async (inbox) => {
      await inbox.ingest({ app, kind: "robot", dedupKey: "robot:young", payload: '{"msgId":"young","msgtype":"text"}', conversationId: null, msgId: "young" });
    });
    clock.advance(1 * 24 * 3600_000 + 1);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const { events } = await consumerJson(app, "events");
    expect(events.map((e: any) => e.dedupKey)).toEqual(["robot:young"]);
    // The dedup key went with the event: the same msgId is new again after retention.
    const again = await runInDurableObject(stub, (inbox) =>
      inbox.ingest({ app, kind: "robot", dedupKey: `robot:${old.msgId}`, payload: JSON.stringify(old), conversationId: null, msgId: String(old.msgId) }),
    );
    expect(again.stored).toBe(true);
  });

  it("keeps the alarm armed so the sweep runs with no request arriving", async () => {
    const app = freshApp();
    await postRobot(app, robotMessage());
    const stub = env.INBOX.getByName(app);
    // The first callback raises an alert, which arms an immediate alarm; let it run first.
    await runDurableObjectAlarm(stub);
    const alarm = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThan(Date.now());
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now());
  });
});
