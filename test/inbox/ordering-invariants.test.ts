// A seeded random walk over everything that moves an event (ingest, named and anonymous pulls with
// and without `held`, ack, nack with and without delay, lease expiry, release, redrive, replay, Stream
// suppression), checking after every step that the free-front marks agree with the events (each key
// nobody holds marks its first ready event, and nothing else is marked), and that every lease
// honoured the ordering rules at the moment it was made.
import { runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import type { Inbox } from "../../src/inbox/inbox";
import { freshApp } from "../harness/workerd/apps";
import { Rng } from "../harness/workerd/hostile";
import { inboxWithClock, ingestRobot, leasedEvents } from "../harness/workerd/inbox";

type Row = {
  seq: number;
  okey: string | null;
  state: string;
  visible_at: number;
  consumer: string | null;
  lease_id: string | null;
  lease_expires_at: number | null;
  front: number;
};

const CONVERSATIONS = ["c1", "c2", "c3", "c4", "c5", ""];
const CONSUMERS = ["a", "b", null] as const;

function snapshot(stub: DurableObjectStub<Inbox>) {
  return runInDurableObject(stub, (_i, state) => ({
    events: state.storage.sql
      .exec<Row>("SELECT seq, okey, state, visible_at, consumer, lease_id, lease_expires_at, front FROM events ORDER BY seq")
      .toArray(),
  }));
}

/** The seqs of the ready and leased events that carry the free-front mark. */
function marked(events: readonly Row[]): number[] {
  return events.filter((e) => (e.state === "ready" || e.state === "leased") && e.front === 1).map((e) => e.seq);
}

/** Which events must carry the mark, worked out from the events alone: each free key's first ready one. */
function expectedFronts(events: readonly Row[]): number[] {
  const held = new Set(events.filter((e) => e.state === "leased" && e.okey !== null).map((e) => e.okey));
  const fronts = new Map<string, number>();
  for (const e of events) if (e.state === "ready" && e.okey !== null && !held.has(e.okey) && !fronts.has(e.okey)) fronts.set(e.okey, e.seq);
  return [...fronts.values()].sort((a, b) => a - b);
}

/** Every event a pull got was allowed, judged on the queue as the pull found it. */
function checkPull(before: readonly Row[], got: readonly Pick<Row, "seq" | "okey">[], consumer: string | null, now: number): void {
  const gotSeqs = new Set(got.map((e) => e.seq));
  const perKey = new Map<string, number>();
  for (const e of got) {
    if (e.okey === null) continue;
    perKey.set(e.okey, (perKey.get(e.okey) ?? 0) + 1);
    const sameKey = before.filter((b) => b.okey === e.okey);
    // Nothing earlier of the key was still waiting (ready, visible or not) unless this pull took it too.
    const overtaken = sameKey.filter((b) => b.seq < e.seq && b.state === "ready" && !gotSeqs.has(b.seq));
    expect(overtaken, `pull by ${consumer} took seq ${e.seq} of ${e.okey} past an earlier waiting event`).toEqual([]);
    // Nobody else held the key.
    const holders = new Set(sameKey.filter((b) => b.state === "leased").map((b) => b.consumer ?? ""));
    expect(
      [...holders].filter((h) => h !== (consumer ?? "\u0000")),
      `pull by ${consumer} took ${e.okey} held by another`,
    ).toEqual([]);
  }
  if (consumer === null) for (const [key, n] of perKey) expect(n, `an anonymous pull took ${n} events of ${key}`).toBe(1);
  for (const e of got) expect(before.find((b) => b.seq === e.seq)!.visible_at, `seq ${e.seq} was not visible yet`).toBeLessThanOrEqual(now);
}

it("keeps the free-front marks true and every lease within the ordering rules through a random walk", async () => {
  const app = freshApp();
  const inbox = await inboxWithClock(app);
  await inbox.set({ maxAttempts: 3, leaseMs: 10_000 });
  const rng = new Rng(20261204);
  let n = 0;
  for (let step = 0; step < 400; step++) {
    const op = rng.int(10);
    const { events } = await snapshot(inbox.stub);
    const leased = events.filter((e) => e.state === "leased");
    if (op <= 2) {
      await ingestRobot(app, `m${n++}`, { conversationId: rng.pick(CONVERSATIONS) });
    } else if (op <= 5) {
      const consumer = rng.pick(CONSUMERS);
      const mine = leased.filter((e) => e.consumer === consumer).map((e) => e.lease_id!);
      const held = consumer && rng.int(3) === 0 ? mine.filter(() => rng.int(2) === 0) : undefined;
      const release = consumer !== null && rng.int(10) === 0;
      const now = inbox.clock.now();
      // What the pull itself puts back before it leases: expired leases, and what its consumer lets go.
      const before = events.map((e) => {
        const expired = e.state === "leased" && e.lease_expires_at! <= now;
        const letGo =
          e.state === "leased" && consumer !== null && e.consumer === consumer && (release || (held && !held.includes(e.lease_id!)));
        return expired || letGo ? { ...e, state: "ready", consumer: null, visible_at: now } : e;
      });
      const res = await inbox.stub.pull({ max: 1 + rng.int(4), waitMs: 0, release, consumer: consumer ?? undefined, held });
      checkPull(
        before,
        leasedEvents(res).map((e) => ({ seq: e.seq, okey: e.orderingKey })),
        consumer,
        now,
      );
    } else if (op === 6 && leased.length) {
      await inbox.stub.ack([rng.pick(leased).lease_id!]);
    } else if (op === 7 && leased.length) {
      await inbox.stub.nack([rng.pick(leased).lease_id!], rng.pick([0, 0, 5_000]), "random");
    } else if (op === 8) {
      await inbox.advance(rng.pick([1_000, 6_000, 11_000]));
    } else if (op === 9) {
      const pick = rng.int(3);
      // A replay copies delivered events back in, several of one key in one statement.
      if (pick === 0) await inbox.stub.replay({ fromSeq: Math.max(0, (events.at(-1)?.seq ?? 0) - 8 - rng.int(8)) });
      else if (pick === 1) await inbox.stub.redrive(null);
      else await inbox.stub.heartbeat({ consumer: "gw", stream: { connected: true, msgIds: [`m${rng.int(Math.max(1, n))}`] } });
    }
    const after = await snapshot(inbox.stub);
    expect(marked(after.events), `free fronts after step ${step} (op ${op})`).toEqual(expectedFronts(after.events));
  }
  expect(n).toBeGreaterThan(50);
});
