import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { freshApp } from "../harness/workerd/apps";
import { consumerJson, postRobot, robotMessage } from "../harness/workerd/dingtalk";
import { restartObject } from "../harness/workerd/inbox";

describe("the inbox keeps what it acknowledged", () => {
  it("an event survives the object's eviction", async () => {
    const app = freshApp();
    const body = robotMessage({ text: "survive" });
    expect((await postRobot(app, body)).status).toBe(200);
    const stub = env.INBOX.getByName(app);
    // Throw the live instance away; the next call builds a new one from SQLite alone.
    await restartObject(stub, "evicted by the test");
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
    // (The runtime may be running that alarm on its own just now, and holds none while it runs.)
    await expect.poll(() => runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeTypeOf("number");
    const alarm = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThan(Date.now());
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now());
  });
});

describe("an app taken out of the configuration", () => {
  it("stops its inbox's alarm and keeps its data", async () => {
    const stub = env.INBOX.getByName("removed-app");
    await runInDurableObject(stub, async (_inbox, state) => {
      state.storage.sql.exec(
        "INSERT INTO events (id, kind, dedup_key, received_at, size, state, visible_at) VALUES ('e1', 'robot', 'robot:x', 1, 2, 'ready', 1)",
      );
      await state.storage.setAlarm(Date.now() + 60_000);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const [alarm, events] = await runInDurableObject(stub, async (_inbox, state) => [
      await state.storage.getAlarm(),
      state.storage.sql.exec("SELECT id FROM events").toArray(),
    ]);
    expect(alarm).toBeNull();
    expect(events).toEqual([{ id: "e1" }]);
  });
});
