// The events a draining consumer holds, and which of them may run: one event of an ordering key at a
// time, in seq order, different keys side by side up to `concurrency`. Pure bookkeeping, no I/O.
//
// Every lease stays "held" until the bridge has answered its ack or nack, so a pull racing an ack
// never hands the event back. After a handler fails, its key's other events are let go: they stay
// held (and do not run) until the nack is answered, so no pull meanwhile gives them to us again, and
// then leave `held`, so the next pull hands them back without counting an attempt. Any of them that
// a pull sent before that still brings is let go as well: the retried event must run before them.
//
// An event from a bridge older than ordering has no key at all (undefined, not null): such events
// share one key, and so run one at a time, as they did before.
import type { BridgeEvent } from "./types.js";

type State = "waiting" | "running" | "settling" | "lettingGo";

interface Held {
  event: BridgeEvent;
  state: State;
  /** When the lease runs out, by this machine's clock. */
  leaseUntil: number;
}

export class HeldEvents {
  private readonly byLease = new Map<string, Held>();
  private readonly busyKeys = new Set<string>();
  /**
   * Keys whose events are being let go: Infinity while the nack is unanswered, then the number of the
   * first pull whose answer may carry the key again.
   */
  private readonly letGo = new Map<string, number>();
  private pullsSent = 0;
  private runningCount = 0;

  constructor(
    private readonly concurrency: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Numbers a pull about to be sent; its answer goes to `add` with this number. */
  pullStarting(): number {
    return ++this.pullsSent;
  }

  /** Every lease the bridge must not take back: waiting, running, or with an ack or nack unanswered. */
  held(): string[] {
    return [...this.byLease.keys()];
  }

  /** Events not yet finished by the handler: waiting or running. */
  inHand(): number {
    let n = 0;
    for (const h of this.byLease.values()) if (h.state === "waiting" || h.state === "running") n++;
    return n;
  }

  /** How many leases `held` lists. */
  get size(): number {
    return this.byLease.size;
  }

  get running(): number {
    return this.runningCount;
  }

  /** Takes a pull's events; answers those let go instead (their key is being retried). */
  add(events: readonly BridgeEvent[], pullNumber: number, leaseMs: number): BridgeEvent[] {
    const dropped: BridgeEvent[] = [];
    const until = this.now() + leaseMs;
    for (const event of events) {
      const key = event.orderingKey;
      const before = key === null ? 0 : (this.letGo.get(key) ?? 0);
      if (before !== Number.POSITIVE_INFINITY && pullNumber < before) dropped.push(event);
      else if (!this.byLease.has(event.leaseId)) {
        const state = before === Number.POSITIVE_INFINITY ? "lettingGo" : "waiting";
        this.byLease.set(event.leaseId, { event, state, leaseUntil: until });
      }
    }
    // This pull's `held` left the let-go events out, so the bridge has them back by now.
    for (const [key, before] of this.letGo) if (before <= pullNumber) this.letGo.delete(key);
    return dropped;
  }

  /** The next event to hand to the handler, marked running; the oldest whose key is free. */
  next(): BridgeEvent | null {
    const held = this.pick();
    if (!held) return null;
    held.state = "running";
    this.runningCount++;
    if (held.event.orderingKey !== null) this.busyKeys.add(held.event.orderingKey);
    return held.event;
  }

  /** The handler is done with an event: its ack or nack goes out now. A failed event's key lets go of its other events. */
  finished(event: BridgeEvent, ok: boolean): void {
    const held = this.byLease.get(event.leaseId);
    if (held?.state !== "running") return;
    held.state = "settling";
    this.runningCount--;
    const key = event.orderingKey;
    if (key === null) return;
    this.busyKeys.delete(key);
    if (ok) return;
    this.letGo.set(key, Number.POSITIVE_INFINITY);
    for (const h of this.byLease.values()) if (h.state === "waiting" && h.event.orderingKey === key) h.state = "lettingGo";
  }

  /**
   * The bridge answered an ack or nack (or the client gave up asking): the lease is no longer held.
   * After a nack the key's let-go events leave `held`, so the next pull hands them back; after a nack
   * that made a dead letter, nothing holds the key back any more and they simply run next.
   */
  settled(event: BridgeEvent, outcome: "acked" | "nacked" | "deadLettered"): void {
    this.byLease.delete(event.leaseId);
    const key = event.orderingKey;
    if (outcome === "acked" || key === null) return;
    for (const [lease, h] of this.byLease) {
      if (h.state !== "lettingGo" || h.event.orderingKey !== key) continue;
      if (outcome === "deadLettered") h.state = "waiting";
      else this.byLease.delete(lease);
    }
    // A pull sent before this moment may still bring the key's events: they are let go too.
    if (outcome === "deadLettered") this.letGo.delete(key);
    else this.letGo.set(key, this.pullsSent + 1);
  }

  /** Leases past half their length, to extend now. */
  dueForExtension(leaseMs: number): string[] {
    const t = this.now();
    const due: string[] = [];
    for (const [lease, h] of this.byLease) if (h.state !== "settling" && h.leaseUntil - t <= leaseMs / 2) due.push(lease);
    return due;
  }

  extended(leaseIds: readonly string[], leaseMs: number): void {
    const until = this.now() + leaseMs;
    for (const id of leaseIds) {
      const held = this.byLease.get(id);
      if (held) held.leaseUntil = until;
    }
  }

  /**
   * Leases the bridge no longer knows (they ran out). A waiting one is back in the queue, so its key's
   * other waiting events are let go too and come back after it, in order; a running one finishes.
   */
  lost(leaseIds: readonly string[]): BridgeEvent[] {
    const dropped: BridgeEvent[] = [];
    for (const id of leaseIds) {
      const held = this.byLease.get(id);
      if (held?.state === "lettingGo") this.byLease.delete(id);
      if (held?.state !== "waiting") continue;
      const key = held.event.orderingKey;
      if (key === null) {
        this.byLease.delete(id);
        dropped.push(held.event);
        continue;
      }
      dropped.push(...this.dropWaiting(key));
      this.letGo.set(key, Math.max(this.letGo.get(key) ?? 0, this.pullsSent + 1));
    }
    return dropped;
  }

  private dropWaiting(key: string): BridgeEvent[] {
    const dropped: BridgeEvent[] = [];
    for (const [lease, h] of this.byLease) {
      if (h.state === "waiting" && h.event.orderingKey === key) {
        this.byLease.delete(lease);
        dropped.push(h.event);
      }
    }
    return dropped;
  }

  private pick(): Held | null {
    if (this.runningCount >= this.concurrency) return null;
    // The head of each key: its waiting event with the lowest seq.
    const heads = new Map<string, Held>();
    let best: Held | null = null;
    for (const h of this.byLease.values()) {
      if (h.state !== "waiting") continue;
      const key = h.event.orderingKey;
      if (key === null) {
        if (!best || h.event.seq < best.event.seq) best = h;
        continue;
      }
      const head = heads.get(key);
      if (!head || h.event.seq < head.event.seq) heads.set(key, h);
    }
    for (const [key, h] of heads) {
      if (this.busyKeys.has(key) || this.letGo.has(key)) continue;
      if (!best || h.event.seq < best.event.seq) best = h;
    }
    return best;
  }
}
