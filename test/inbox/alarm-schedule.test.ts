import { env, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { AlarmSchedule } from "../../src/lib/alarm-schedule";
import { freshApp } from "../harness/workerd/apps";

it("keeps an alarm that is due now when a request asks for a later one", async () => {
  await runInDurableObject(env.INBOX.getByName(freshApp()), async (_inbox, state) => {
    const schedule = new AlarmSchedule(state.storage);
    const now = Date.now();
    // The alarm's own re-arm found work still due (alerts or sends left over): it runs again at once.
    await schedule.arm(now);
    // A callback a moment later wants the alarm for its own deadline, a minute away.
    await schedule.arm(now + 60_000);
    expect(await state.storage.getAlarm()).toBe(now);
  });
});

it("moves the alarm forward for an earlier deadline, never back for a later one", async () => {
  await runInDurableObject(env.INBOX.getByName(freshApp()), async (_inbox, state) => {
    const schedule = new AlarmSchedule(state.storage);
    const now = Date.now();
    await schedule.arm(now + 60_000);
    await schedule.arm(now + 90_000);
    expect(await state.storage.getAlarm()).toBe(now + 60_000);
    await schedule.arm(now + 30_000);
    expect(await state.storage.getAlarm()).toBe(now + 30_000);
  });
});

it("forgets the alarm that is running, so the next request can arm one", async () => {
  await runInDurableObject(env.INBOX.getByName(freshApp()), async (_inbox, state) => {
    const schedule = new AlarmSchedule(state.storage);
    const now = Date.now();
    await schedule.arm(now + 1_000);
    // The alarm runs and fails to re-arm itself: nothing is set any more.
    await state.storage.deleteAlarm();
    await schedule.run(
      async () => {},
      () => {
        throw new Error("no next wake");
      },
      () => {},
    );
    expect(schedule.next).toBeNull();
    await schedule.arm(now + 120_000);
    expect(await state.storage.getAlarm()).toBe(now + 120_000);
  });
});
