import { describe, expect, it } from "vitest";
import { planOpen, pruneOpens, reconnectDelayMs } from "../../src/stream/budget";

const MIN = 60_000;

describe("the reconnect budget", () => {
  it("allows three opens in any ten minutes, then waits for the oldest to leave the window", () => {
    const now = 100 * MIN;
    expect(planOpen({ opens: [now - 9 * MIN, now - 5 * MIN], retryAt: null }, now)).toEqual({ at: now, why: "now" });
    const plan = planOpen({ opens: [now - 9 * MIN, now - 5 * MIN, now - 1 * MIN], retryAt: null }, now);
    expect(plan).toMatchObject({ at: now + MIN, why: "budget", window: { max: 3 } });
  });

  it("allows ten opens in any hour", () => {
    const now = 100 * MIN;
    // Ten opens spaced 5 minutes apart: never three in ten minutes, but ten in the hour.
    const opens = Array.from({ length: 10 }, (_, i) => now - 50 * MIN + i * 5 * MIN - 1);
    const plan = planOpen({ opens, retryAt: null }, now + 4 * MIN);
    expect(plan).toMatchObject({ why: "budget", window: { max: 10 }, at: opens[0]! + 60 * MIN });
  });

  it("waits out the backoff set at the last failure", () => {
    expect(planOpen({ opens: [], retryAt: 5_000 }, 1_000)).toEqual({ at: 5_000, why: "backoff" });
    expect(planOpen({ opens: [], retryAt: 5_000 }, 5_000)).toEqual({ at: 5_000, why: "now" });
  });

  it("backs off from 1 s doubling to 60 s, with jitter between half and all of the step", () => {
    expect(reconnectDelayMs(0, () => 0.5)).toBe(0);
    expect([1, 2, 3, 7, 8, 30].map((f) => reconnectDelayMs(f, () => 1))).toEqual([1_000, 2_000, 4_000, 60_000, 60_000, 60_000]);
    expect(reconnectDelayMs(1, () => 0)).toBe(500);
  });

  it("forgets opens older than an hour", () => {
    expect(pruneOpens([1, 2 * MIN, 70 * MIN], 70 * MIN)).toEqual([70 * MIN]);
  });
});
