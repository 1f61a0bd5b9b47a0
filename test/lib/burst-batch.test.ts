// Group commit's rules: a call alone runs at once; calls in a burst wait a moment (gatherMs) and run
// together; each is answered with its own outcome, and a batch that fails fails its own calls only.
import { describe, expect, it } from "vitest";
import { BurstBatch, type Settled, settleEach } from "../../src/lib/burst-batch";
import { ManualClock } from "../../src/lib/clock";

function batcher(clock: ManualClock, work: (n: number) => number = (n) => n * 10) {
  const batches: number[][] = [];
  const batch = new BurstBatch<number, number>(
    async (items) => {
      batches.push(items);
      return settleEach(items, work);
    },
    clock,
    { burstMs: 1, gatherMs: 1 },
  );
  return { batch, batches };
}

describe("BurstBatch", () => {
  it("runs a call that comes alone at once, in the caller's own step", async () => {
    const clock = new ManualClock(1_000);
    const { batch, batches } = batcher(clock);
    const answer = batch.add(1);
    expect(batches).toEqual([[1]]);
    expect(await answer).toBe(10);
    clock.advance(50);
    expect(await batch.add(2)).toBe(20);
    expect(batches).toEqual([[1], [2]]);
  });

  it("gathers the calls of a burst behind a short wait, each answered with its own result", async () => {
    const clock = new ManualClock(1_000);
    const { batch, batches } = batcher(clock);
    const first = batch.add(1);
    clock.advance(1);
    const rest = [batch.add(2), batch.add(3), batch.add(4)];
    expect(batches).toEqual([[1]]);
    expect(await Promise.all([first, ...rest])).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it("fails a call that threw, and only that call", async () => {
    const clock = new ManualClock(1_000);
    const { batch } = batcher(clock, (n) => {
      if (n === 3) throw new Error("three is refused");
      return n;
    });
    const answers = await Promise.allSettled([batch.add(1), batch.add(2), batch.add(3), batch.add(4)]);
    expect(answers.map((a) => a.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    expect((answers[2] as PromiseRejectedResult).reason.message).toBe("three is refused");
  });

  it("fails every call of a batch whose run failed as a whole, and carries on", async () => {
    const clock = new ManualClock(1_000);
    let fail = true;
    const batch = new BurstBatch<number, number>(
      async (items): Promise<Settled<number>[]> => {
        if (fail) throw new Error("storage broke");
        return settleEach(items, (n) => n);
      },
      clock,
      { burstMs: 1, gatherMs: 1 },
    );
    const answers = await Promise.allSettled([batch.add(1), batch.add(2)]);
    expect(answers.map((a) => a.status)).toEqual(["rejected", "rejected"]);
    fail = false;
    expect(await batch.add(3)).toBe(3);
  });
});
