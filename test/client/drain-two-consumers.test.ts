// Two drains on one app against the real inbox: 30 interleaved conversations with random handler
// times; every message handled, each conversation in order and by one consumer at a time; and
// again with one consumer dying mid-run (its network gone, its handlers never returning, as after
// kill -9), whose conversations the other takes over once their leases run out.
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BridgeClient } from "../../src/client/bridge-client";
import { drain } from "../../src/client/drain";
import type { BridgeEvent } from "../../src/client/types";
import { tokenFor } from "../harness/test-env";
import { freshApp } from "../harness/workerd/apps";
import { BASE, consumerJson } from "../harness/workerd/dingtalk";
import { ingestRobot } from "../harness/workerd/inbox";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Run {
  consumer: string;
  key: string;
  seq: number;
  msgId: string;
  done: boolean;
}

/** Records runs and flags two consumers inside one conversation at once. */
class Recorder {
  readonly runs: Run[] = [];
  readonly overlaps: string[] = [];
  private readonly inside = new Map<string, string>();

  handler(consumer: string, gate: () => Promise<void> = async () => {}) {
    return async (e: BridgeEvent) => {
      const key = e.orderingKey!;
      const other = this.inside.get(key);
      if (other !== undefined) this.overlaps.push(`${consumer} entered ${key} while ${other} was in it`);
      this.inside.set(key, consumer);
      const run: Run = { consumer, key, seq: e.seq, msgId: e.payload.msgId as string, done: false };
      this.runs.push(run);
      await sleep(Math.random() * 15);
      await gate();
      if (this.inside.get(key) === consumer) this.inside.delete(key);
      run.done = true;
    };
  }

  handled(): Set<string> {
    return new Set(this.runs.filter((r) => r.done).map((r) => r.msgId));
  }

  /** Completed runs per conversation never go back in seq (a message may repeat after a death). */
  expectInOrder(): void {
    const last = new Map<string, number>();
    for (const r of this.runs.filter((r) => r.done)) {
      expect(r.seq).toBeGreaterThanOrEqual(last.get(r.key) ?? 0);
      last.set(r.key, r.seq);
    }
  }
}

function client(app: string, consumer: string, fetchImpl: typeof fetch = (i, init) => SELF.fetch(i as string, init)) {
  return new BridgeClient({ url: BASE, token: tokenFor(app), app, consumer, fetch: fetchImpl });
}

async function ingestInterleaved(app: string, messages: number, conversations: number): Promise<void> {
  for (let i = 0; i < messages; i++) await ingestRobot(app, `m${i}`, { conversationId: `c${i % conversations}` });
}

describe("two drains on one app", () => {
  it("handle every message of 30 interleaved conversations in order, one consumer per conversation at a time", async () => {
    const app = freshApp();
    await ingestInterleaved(app, 90, 30);
    const rec = new Recorder();
    const stop = new AbortController();
    const watch = setInterval(() => rec.handled().size === 90 && stop.abort(), 20);
    const options = { signal: stop.signal, waitMs: 200 };
    await Promise.all([drain(client(app, "gw-a"), rec.handler("a"), options), drain(client(app, "gw-b"), rec.handler("b"), options)]);
    clearInterval(watch);
    expect(rec.overlaps).toEqual([]);
    expect(rec.runs.filter((r) => r.done)).toHaveLength(90);
    rec.expectInOrder();
    expect(new Set(rec.runs.map((r) => r.consumer))).toEqual(new Set(["a", "b"]));
    expect((await consumerJson(app, "status")).depth).toBe(0);
  });

  it("lose nothing when one dies mid-run: the other takes its conversations once their leases run out", async () => {
    const app = freshApp();
    await ingestInterleaved(app, 60, 20);
    const rec = new Recorder();
    let dead = false;
    let revive = () => {};
    const grave = new Promise<void>((r) => (revive = r));
    // After death: no network, and handlers that never return (until the test is over).
    const dying = client(app, "gw-dies", (i, init) =>
      dead ? Promise.reject(new TypeError("fetch failed")) : SELF.fetch(i as string, init),
    );
    const stopA = new AbortController();
    const stopB = new AbortController();
    const watch = setInterval(() => {
      if (!dead && rec.runs.filter((r) => r.consumer === "b").length >= 8) dead = true;
      if (rec.handled().size === 60) stopA.abort();
    }, 10);
    const options = { waitMs: 200, leaseMs: 1_000, onError: () => {} };
    const a = drain(client(app, "gw-lives"), rec.handler("a"), { ...options, signal: stopA.signal });
    const b = drain(
      dying,
      rec.handler("b", () => (dead ? grave : Promise.resolve())),
      { ...options, signal: stopB.signal },
    );
    await a;
    clearInterval(watch);
    expect(dead).toBe(true);
    // A dead process runs nothing more: what it had in hand never counts as done.
    const cut = rec.runs.filter((r) => r.consumer === "b" && !r.done);
    expect(cut.length).toBeGreaterThan(0);
    expect(rec.handled().size).toBe(60);
    rec.expectInOrder();
    for (const r of cut) expect(rec.runs.some((x) => x.consumer === "a" && x.msgId === r.msgId && x.done)).toBe(true);
    expect((await consumerJson(app, "status")).depth).toBe(0);
    stopB.abort();
    revive();
    await b;
  });
});
