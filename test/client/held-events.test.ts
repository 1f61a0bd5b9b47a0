// The drain loop's bookkeeping, without I/O: which held event may run, what a pull must list as held,
// what a nack lets go, and which leases are due for extension.
import { describe, expect, it } from "vitest";
import { HeldEvents } from "../../src/client/held-events";
import type { BridgeEvent } from "../../src/client/types";

let seq = 0;
function ev(key: string | null, overrides: Partial<BridgeEvent> = {}): BridgeEvent {
  seq += 1;
  return {
    id: `evt${seq}`,
    seq,
    kind: "robot",
    source: "webhook",
    dedupKey: `m${seq}`,
    receivedAt: 0,
    attempt: 1,
    leaseId: `lease${seq}`,
    leaseExpiresAt: 0,
    orderingKey: key,
    payload: {},
    ...overrides,
  };
}

/** Two events of one key pulled, the first run and finished (handled, or failed). */
function firstOfTwoFinished(handled: boolean) {
  const held = new HeldEvents(4);
  const [a1, a2] = [ev("a"), ev("a")];
  held.add([a1, a2], held.pullStarting(), 60_000);
  held.next();
  held.finished(a1, handled);
  return { held, a1, a2 };
}

function drainAll(held: HeldEvents): BridgeEvent[] {
  const out: BridgeEvent[] = [];
  for (let e = held.next(); e; e = held.next()) out.push(e);
  return out;
}

describe("HeldEvents", () => {
  it("runs one event per key, oldest first, different keys side by side up to the concurrency", () => {
    const held = new HeldEvents(2);
    const [a1, b1, a2, c1, n1, n2] = [ev("a"), ev("b"), ev("a"), ev("c"), ev(null), ev(null)];
    held.add([a2, a1, b1, c1, n1, n2], held.pullStarting(), 60_000);
    expect(drainAll(held).map((e) => e.id)).toEqual([a1.id, b1.id]);
    expect(held.running).toBe(2);
    held.finished(a1, true);
    // a2 was waiting for a1 only, and is older than c1.
    expect(held.next()?.id).toBe(a2.id);
    expect(held.next()).toBeNull();
    held.finished(b1, true);
    expect(held.next()?.id).toBe(c1.id);
    held.finished(c1, true);
    held.finished(a2, true);
    // Events without a key run side by side.
    expect(drainAll(held).map((e) => e.id)).toEqual([n1.id, n2.id]);
  });

  it("holds every lease until its ack or nack is answered", () => {
    const { held, a1, a2 } = firstOfTwoFinished(true);
    expect(held.held()).toEqual([a1.leaseId, a2.leaseId]);
    expect(held.inHand()).toBe(1);
    held.settled(a1, "acked");
    expect(held.held()).toEqual([a2.leaseId]);
  });

  it("after a failure lets the key's other events go once the nack is answered, and drops those earlier pulls still bring", () => {
    const held = new HeldEvents(4);
    const [a1, a2, a3, a4, b1] = [ev("a"), ev("a"), ev("a"), ev("a"), ev("b")];
    held.add([a1, a2, b1], held.pullStarting(), 60_000);
    expect(drainAll(held).map((e) => e.id)).toEqual([a1.id, b1.id]);
    held.finished(a1, false);
    // Until the nack is answered they stay held, so no pull gives them to us again, but none runs.
    const racing = held.pullStarting();
    expect(held.add([a3], racing, 60_000)).toEqual([]);
    expect(held.held()).toEqual([a1.leaseId, a2.leaseId, b1.leaseId, a3.leaseId]);
    expect(held.inHand()).toBe(1);
    expect(held.next()).toBeNull();
    held.settled(a1, "nacked");
    expect(held.held()).toEqual([b1.leaseId]);
    // A pull sent before the nack's answer may still bring the key: let go.
    expect(held.add([a4], racing, 60_000).map((e) => e.id)).toEqual([a4.id]);
    expect(held.next()).toBeNull();
    // The first pull sent after it left them out of `held`: the key is clean again.
    const clean = held.pullStarting();
    const retry = ev("a", { id: a1.id, seq: a1.seq, leaseId: "lease-retry", attempt: 2 });
    expect(held.add([retry, a2], clean, 60_000)).toEqual([]);
    expect(held.next()?.leaseId).toBe("lease-retry");
  });

  it("after a failure that made a dead letter runs the key's next event at once", () => {
    const { held, a1, a2 } = firstOfTwoFinished(false);
    expect(held.next()).toBeNull();
    held.settled(a1, "deadLettered");
    expect(held.next()?.id).toBe(a2.id);
  });

  it("extends running and waiting leases past half their length, and lets a lost waiting lease's key go", () => {
    let now = 0;
    const held = new HeldEvents(1, () => now);
    const [a1, a2, b1] = [ev("a"), ev("a"), ev("b")];
    held.add([a1, a2, b1], held.pullStarting(), 10_000);
    held.next();
    now = 4_000;
    expect(held.dueForExtension(10_000)).toEqual([]);
    now = 5_000;
    expect(held.dueForExtension(10_000)).toEqual([a1.leaseId, a2.leaseId, b1.leaseId]);
    held.extended([a1.leaseId, b1.leaseId], 10_000);
    expect(held.dueForExtension(10_000)).toEqual([a2.leaseId]);
    // a2 ran out: it is back in the queue, ahead of any later event of its key.
    expect(held.lost([a2.leaseId]).map((e) => e.id)).toEqual([a2.id]);
    held.finished(a1, true);
    expect(held.next()?.id).toBe(b1.id);
  });
});
