// A long poll ends when its request does: a client that went away is handed nothing, and what a
// poll was handed a moment too late comes straight back.
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { tokenFor } from "../harness/test-env";
import { freshApp } from "../harness/workerd/apps";
import { BASE, consumerJson, postRobot, robotMessage } from "../harness/workerd/dingtalk";
import { inboxWithClock, ingestRobot, untilWaiting } from "../harness/workerd/inbox";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A pull whose client gives up after `abortAfterMs`. */
function abandonedPull(app: string, body: Record<string, unknown>, abortAfterMs: number) {
  const controller = new AbortController();
  const res = SELF.fetch(`${BASE}/v1/${app}/pull`, {
    method: "POST",
    headers: { authorization: `Bearer ${tokenFor(app)}`, "content-type": "application/json" },
    body: JSON.stringify({ waitMs: 20_000, ...body }),
    signal: controller.signal,
  }).catch(() => null);
  setTimeout(() => controller.abort(), abortAfterMs);
  return res;
}

async function waitersGone(app: string) {
  // The cancellation travels from the aborted request to the inbox on its own; give it a moment.
  for (let i = 0; i < 50; i++) {
    const s = await consumerJson(app, "status");
    if (s.leased === 0) return s;
    await sleep(20);
  }
  return consumerJson(app, "status");
}

describe("abandoned long polls", () => {
  it("three aborted pulls, named and anonymous, then a callback: nothing is leased to the dead polls", async () => {
    const app = freshApp();
    await Promise.all([abandonedPull(app, { consumer: "gw-a" }, 100), abandonedPull(app, {}, 100), abandonedPull(app, {}, 100)]);
    await sleep(100);
    const body = robotMessage({ text: "after the aborts" });
    expect((await postRobot(app, body)).status).toBe(200);
    const status = await waitersGone(app);
    expect(status).toMatchObject({ ready: 1, leased: 0, deadLetters: 0 });
    const { events } = await consumerJson(app, "pull", { waitMs: 0 });
    expect(events[0]).toMatchObject({ attempt: 1, payload: body });
  });

  it("a poll answered just as its client went away gives its leases back, the attempt not counted", async () => {
    const app = freshApp();
    const { stub } = await inboxWithClock(app);
    const waiting = stub.pull({ max: 5, waitMs: 20_000, release: false, pollId: "poll-1" });
    await sleep(50);
    await ingestRobot(app, "m1");
    expect((await waiting).events).toHaveLength(1);
    expect(await stub.cancelPull("poll-1")).toEqual({ cancelled: true, returned: 1 });
    const status = await consumerJson(app, "status");
    expect(status).toMatchObject({ ready: 1, leased: 0 });
    const { events } = await consumerJson(app, "pull", { waitMs: 0 });
    expect(events[0].attempt).toBe(1);
    // A second cancel of the same poll, or of one never answered, changes nothing.
    expect(await stub.cancelPull("poll-1")).toEqual({ cancelled: false, returned: 0 });
  });

  it("a release-only pull (max 0) hands back the consumer's leases and ends its polls at once", async () => {
    const app = freshApp();
    await ingestRobot(app, "held");
    const held = await consumerJson(app, "pull", { consumer: "gw-1", max: 1 });
    expect(held.events).toHaveLength(1);
    const started = Date.now();
    const waiting = consumerJson(app, "pull", { consumer: "gw-1", waitMs: 20_000 });
    await untilWaiting(app, 1);
    const released = await consumerJson(app, "pull", { consumer: "gw-1", max: 0, release: true, waitMs: 20_000 });
    expect(released).toMatchObject({ events: [], released: 1 });
    expect((await waiting).events).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await consumerJson(app, "status")).ready).toBe(1);
  });
});
