import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { freshApp } from "../harness/workerd/apps";
import { consumerJson, postRobot, robotMessage } from "../harness/workerd/dingtalk";

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
