// Sends the acks and nacks of a drain. Acks that come while one is in flight go together in the next
// call, so a fast handler costs the bridge one ack call per batch, not per event. A call that fails
// for a retryable reason is tried again a few times: the handler's work is done and a duplicate
// delivery is the cost of giving up.
import type { BridgeClient } from "./bridge-client.js";
import { BridgeError } from "./errors.js";
import { backoffMs, sleep } from "./timing.js";

export type AckOutcome = "acked" | "stale" | "failed";
export type NackOutcome = "requeued" | "deadLettered" | "stale" | "failed";

/** The most lease ids one ack call carries (the bridge's limit). */
const MAX_IDS = 100;
const ATTEMPTS = 4;

interface PendingAck {
  leaseId: string;
  resolve: (outcome: AckOutcome) => void;
}

export class Settler {
  private queued: PendingAck[] = [];
  private acking = false;
  private readonly calls = new Set<Promise<unknown>>();

  constructor(
    private readonly client: Pick<BridgeClient, "ack" | "nack">,
    private readonly report: (error: unknown, context: string) => void,
  ) {}

  ack(leaseId: string): Promise<AckOutcome> {
    return new Promise((resolve) => {
      this.queued.push({ leaseId, resolve });
      if (!this.acking) this.track(this.sendAcks());
    });
  }

  nack(leaseId: string, delayMs: number, reason: string): Promise<NackOutcome> {
    return this.track(
      this.withRetries("nack", async () => {
        const res = await this.client.nack([leaseId], delayMs, reason);
        if (res.deadLettered.includes(leaseId)) return "deadLettered" as const;
        return res.requeued.includes(leaseId) ? ("requeued" as const) : ("stale" as const);
      }),
    );
  }

  /** Resolves once every ack and nack asked for so far has its answer. */
  async idle(): Promise<void> {
    while (this.calls.size) await Promise.allSettled([...this.calls]);
  }

  private async sendAcks(): Promise<void> {
    this.acking = true;
    try {
      while (this.queued.length) {
        const batch = this.queued.splice(0, MAX_IDS);
        const ids = batch.map((p) => p.leaseId);
        const stale = await this.withRetries("ack", async () => new Set((await this.client.ack(ids)).stale));
        for (const p of batch) p.resolve(stale === "failed" ? "failed" : stale.has(p.leaseId) ? "stale" : "acked");
      }
    } finally {
      this.acking = false;
    }
  }

  private async withRetries<T>(context: string, call: () => Promise<T>): Promise<T | "failed"> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        // Given up, the lease runs out or the next pull hands it back: at least once, never lost.
        if (!(error instanceof BridgeError && error.retryable && attempt < ATTEMPTS)) {
          this.report(error, context);
          return "failed";
        }
      }
      await sleep(backoffMs(attempt - 1, 200, 2_000));
    }
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.calls.add(promise);
    promise.finally(() => this.calls.delete(promise)).catch(() => {});
    return promise;
  }
}
