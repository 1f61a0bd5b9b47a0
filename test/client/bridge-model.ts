// A small in-memory model of the bridge's queue as the contract describes it (ordering keys, affinity,
// seq order under nack delays, `held`, release), behind the drain loop's client interface. It lets
// the client's scheduling be tested for what it does on every interleaving, apart from the Worker,
// and records every call it gets.
import type { DrainClient } from "../../src/client/drain";
import type { BridgeEvent, PullOptions, PullResponse } from "../../src/client/types";

interface Row {
  id: string;
  seq: number;
  key: string | null;
  state: "ready" | "leased" | "acked" | "dead";
  visibleAt: number;
  attempt: number;
  leaseId: string | null;
  consumer: string | null;
  leaseUntil: number;
}

export interface ModelCall {
  op: "pull" | "ack" | "nack" | "extend" | "release";
  at: number;
  held?: string[];
  leaseIds?: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class BridgeModel {
  readonly rows: Row[] = [];
  readonly calls: ModelCall[] = [];
  private leases = 0;
  /** Milliseconds each ack and nack takes to be answered. */
  settleDelayMs = 0;

  constructor(readonly maxAttempts = 10) {}

  add(key: string | null, count = 1): void {
    for (let i = 0; i < count; i++) {
      const seq = this.rows.length + 1;
      this.rows.push({ id: `evt${seq}`, seq, key, state: "ready", visibleAt: 0, attempt: 0, leaseId: null, consumer: null, leaseUntil: 0 });
    }
  }

  remaining(): number {
    return this.rows.filter((r) => r.state === "ready" || r.state === "leased").length;
  }

  client(consumer: string): DrainClient {
    return {
      pull: (options?: PullOptions) => this.pull(consumer, options ?? {}),
      ack: async (leaseIds: string[]) => {
        this.calls.push({ op: "ack", at: Date.now(), leaseIds });
        await sleep(this.settleDelayMs);
        const mine = this.byLease(leaseIds);
        for (const r of mine) r.state = "acked";
        return { acked: mine.map((r) => r.leaseId!), stale: leaseIds.filter((id) => !mine.some((r) => r.leaseId === id)) };
      },
      nack: async (leaseIds: string[], delayMs = 0) => {
        this.calls.push({ op: "nack", at: Date.now(), leaseIds });
        await sleep(this.settleDelayMs);
        const mine = this.byLease(leaseIds);
        const requeued: string[] = [];
        const deadLettered: string[] = [];
        for (const r of mine) {
          (r.attempt >= this.maxAttempts ? deadLettered : requeued).push(r.leaseId!);
          this.unlease(r, r.attempt >= this.maxAttempts ? "dead" : "ready", Date.now() + delayMs);
        }
        return { requeued, deadLettered, stale: leaseIds.filter((id) => !requeued.includes(id) && !deadLettered.includes(id)) };
      },
      extend: async (leaseIds: string[], leaseMs: number) => {
        this.calls.push({ op: "extend", at: Date.now(), leaseIds });
        this.expire();
        const mine = this.byLease(leaseIds);
        for (const r of mine) r.leaseUntil = Date.now() + leaseMs;
        return {
          extended: mine.map((r) => r.leaseId!),
          leaseExpiresAt: Date.now() + leaseMs,
          stale: leaseIds.filter((id) => !mine.some((r) => r.leaseId === id)),
        };
      },
      heartbeat: async () => ({ mode: "webhook", pollHintMs: 0, suppressed: 0 }),
      handBack: async (held: string[] = []) => {
        this.calls.push({ op: "release", at: Date.now() });
        const released = this.rows.filter((r) => r.state === "leased" && r.consumer === consumer && !held.includes(r.leaseId!));
        // Handed back, never started: the lease does not count as an attempt.
        for (const r of released) {
          r.attempt -= 1;
          this.unlease(r, "ready", 0);
        }
        return { events: [], mode: "webhook", pollHintMs: 0, released: released.length, leaseMs: 0 };
      },
    };
  }

  private async pull(consumer: string, options: PullOptions): Promise<PullResponse> {
    this.calls.push({ op: "pull", at: Date.now(), ...(options.held ? { held: [...options.held] } : {}) });
    this.expire();
    let released = 0;
    for (const r of this.rows) {
      if (r.state !== "leased" || r.consumer !== consumer) continue;
      if (options.release || (options.held && !options.held.includes(r.leaseId!))) {
        // Given back through `held`, the lease did not count as an attempt.
        if (!options.release) r.attempt -= 1;
        this.unlease(r, "ready", 0);
        released++;
      }
    }
    const leaseMs = options.leaseMs ?? 60_000;
    const deadline = Date.now() + (options.waitMs ?? 0);
    for (;;) {
      const events = this.lease(consumer, options.max ?? 10, leaseMs);
      if (events.length || Date.now() >= deadline || options.signal?.aborted) {
        return { events, mode: "webhook", pollHintMs: 0, released, leaseMs };
      }
      await sleep(5);
    }
  }

  /** The contract's rules: oldest first; a key is one consumer's at a time; nothing passes an earlier event of its key. */
  private lease(consumer: string, max: number, leaseMs: number): BridgeEvent[] {
    const now = Date.now();
    const blocked = new Set<string>();
    const out: BridgeEvent[] = [];
    for (const r of this.rows) {
      if (out.length >= max) break;
      if (r.state === "acked" || r.state === "dead") continue;
      const key = r.key;
      if (key !== null && blocked.has(key)) continue;
      if (r.state === "leased") {
        if (key !== null && r.consumer !== consumer) blocked.add(key);
        continue;
      }
      if (r.visibleAt > now) {
        if (key !== null) blocked.add(key);
        continue;
      }
      r.state = "leased";
      r.attempt += 1;
      r.consumer = consumer;
      r.leaseId = `lease${++this.leases}`;
      r.leaseUntil = now + leaseMs;
      out.push({
        id: r.id,
        seq: r.seq,
        kind: "robot",
        source: "webhook",
        dedupKey: r.id,
        receivedAt: 0,
        attempt: r.attempt,
        leaseId: r.leaseId,
        leaseExpiresAt: r.leaseUntil,
        orderingKey: key,
        payload: { key },
      });
    }
    return out;
  }

  private expire(): void {
    const now = Date.now();
    for (const r of this.rows) if (r.state === "leased" && r.leaseUntil <= now) this.unlease(r, "ready", 0);
  }

  private byLease(leaseIds: string[]): Row[] {
    this.expire();
    return this.rows.filter((r) => r.state === "leased" && leaseIds.includes(r.leaseId!));
  }

  private unlease(r: Row, state: Row["state"], visibleAt: number): void {
    r.state = state;
    r.visibleAt = visibleAt;
    r.leaseId = null;
    r.consumer = null;
  }
}
