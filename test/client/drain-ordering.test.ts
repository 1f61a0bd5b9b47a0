// The drain loop's ordering, against a model of the bridge's queue (test/client/bridge-model.ts):
// one key's events strictly one after another and in order, keys side by side, failures retried
// before their key's later events, held leases listed on every pull and kept leased, and one-shot runs.
import { describe, expect, it } from "vitest";
import { drain } from "../../src/client/drain";
import type { BridgeEvent } from "../../src/client/types";
import { BridgeModel } from "./bridge-model";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Run {
  key: string | null;
  seq: number;
  attempt: number;
  start: number;
  end: number;
}

/** Drains until the model is empty, recording each handler run. */
async function drainModel(
  model: BridgeModel,
  handle: (e: BridgeEvent) => Promise<void> | void,
  options: Parameters<typeof drain>[2] = {},
): Promise<{ runs: Run[]; maxConcurrent: number; stats: Awaited<ReturnType<typeof drain>> }> {
  const runs: Run[] = [];
  let running = 0;
  let maxConcurrent = 0;
  const stop = new AbortController();
  const watch = setInterval(() => model.remaining() === 0 && stop.abort(), 20);
  const stats = await drain(
    model.client("gw"),
    async (e) => {
      running++;
      maxConcurrent = Math.max(maxConcurrent, running);
      const run: Run = { key: e.orderingKey, seq: e.seq, attempt: e.attempt, start: performance.now(), end: 0 };
      runs.push(run);
      try {
        await handle(e);
      } finally {
        run.end = performance.now();
        running--;
      }
    },
    { signal: stop.signal, waitMs: 50, retryDelayMs: () => 20, ...options },
  );
  clearInterval(watch);
  return { runs, maxConcurrent, stats };
}

function expectOrderedPerKey(runs: Run[]): void {
  const byKey = new Map<string, Run[]>();
  for (const r of runs) if (r.key !== null) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
  for (const [, list] of byKey) {
    for (let i = 1; i < list.length; i++) {
      expect(list[i]!.start).toBeGreaterThanOrEqual(list[i - 1]!.end);
      expect(list[i]!.seq).toBeGreaterThanOrEqual(list[i - 1]!.seq);
    }
  }
}

describe("drain's ordering", () => {
  it("runs one key's events one after another, in order, and different keys side by side", async () => {
    const model = new BridgeModel();
    for (let i = 0; i < 5; i++) for (const key of ["a", "b", "c", "d", "e", "f"]) model.add(key);
    model.add(null, 4);
    const { runs, maxConcurrent, stats } = await drainModel(model, () => sleep(Math.random() * 15), { concurrency: 3 });
    expect(runs).toHaveLength(34);
    expect(stats.acked).toBe(34);
    expect(maxConcurrent).toBe(3);
    expectOrderedPerKey(runs);
    expect(model.remaining()).toBe(0);
  });

  it("runs a failed event again before its key's later events, which come back without an attempt counted", async () => {
    const model = new BridgeModel();
    model.add("a", 3);
    model.add("b", 2);
    let failed = false;
    const { runs, stats } = await drainModel(
      model,
      (e) => {
        if (e.seq === 1 && !failed) {
          failed = true;
          throw new Error("first try fails");
        }
      },
      { concurrency: 2, max: 10 },
    );
    expect(runs.filter((r) => r.key === "a").map((r) => [r.seq, r.attempt])).toEqual([
      [1, 1],
      [1, 2],
      [2, 1],
      [3, 1],
    ]);
    expectOrderedPerKey(runs);
    expect(stats).toMatchObject({ acked: 5, nacked: 1, retriesPending: 0 });
  });

  it("lists a lease as held on every pull until its ack is answered", async () => {
    const model = new BridgeModel();
    model.settleDelayMs = 150;
    model.add("a", 2);
    model.add("b", 2);
    await drainModel(model, () => {}, { concurrency: 2, max: 1 });
    const acks = model.calls.filter((c) => c.op === "ack");
    const racing = model.calls.filter(
      (p) => p.op === "pull" && acks.some((a) => p.at > a.at && p.at < a.at + 100 && a.leaseIds!.every((id) => p.held!.includes(id))),
    );
    expect(racing.length).toBeGreaterThan(0);
    for (const p of model.calls.filter((c) => c.op === "pull")) {
      for (const a of acks) if (p.at > a.at && p.at < a.at + 100) expect(p.held).toEqual(expect.arrayContaining(a.leaseIds!));
    }
  });

  it("keeps events waiting behind their key leased", async () => {
    const model = new BridgeModel();
    model.add("a", 2);
    const { runs } = await drainModel(model, (e) => (e.seq === 1 ? sleep(900) : undefined), { leaseMs: 400, concurrency: 2 });
    expect(runs.map((r) => [r.seq, r.attempt])).toEqual([
      [1, 1],
      [2, 1],
    ]);
    const extended = model.calls.filter((c) => c.op === "extend").flatMap((c) => c.leaseIds!);
    expect(new Set(extended).size).toBe(2);
  });

  it("on stop, finishes the events running and hands the rest back", async () => {
    const model = new BridgeModel();
    model.add(null, 3);
    const stop = new AbortController();
    const stats = await drain(
      model.client("gw"),
      async () => {
        stop.abort();
        await sleep(50);
      },
      { signal: stop.signal, concurrency: 1 },
    );
    expect(stats.acked).toBe(1);
    expect(model.rows.map((r) => r.state)).toEqual(["acked", "ready", "ready"]);
    expect(model.calls.at(-1)?.op).toBe("release");
  });
});

describe("drain with once", () => {
  it("waits for its nacked events that come due within its wait", async () => {
    const model = new BridgeModel();
    model.add("a", 2);
    let tries = 0;
    const t0 = Date.now();
    const stats = await drain(
      model.client("gw"),
      (e) => {
        if (e.seq === 1 && tries++ < 2) throw new Error("not yet");
      },
      { once: true, waitMs: 5_000, retryDelayMs: () => 100 },
    );
    expect(stats).toMatchObject({ acked: 2, nacked: 2, retriesPending: 0, nextRetryAt: null });
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it("ends, counting them, when its nacked events come due later", async () => {
    const model = new BridgeModel();
    model.add("a", 2);
    const t0 = Date.now();
    const stats = await drain(
      model.client("gw"),
      () => {
        throw new Error("always");
      },
      { once: true, waitMs: 200, retryDelayMs: () => 60_000 },
    );
    expect(stats).toMatchObject({ acked: 0, nacked: 1, retriesPending: 1 });
    expect(stats.nextRetryAt).toBeGreaterThan(t0 + 59_000);
    expect(Date.now() - t0).toBeLessThan(2_000);
    // The key's later event went back to the queue: nothing is left leased.
    expect(model.rows.map((r) => r.state)).toEqual(["ready", "ready"]);
  });
});
