// Group commit for a Durable Object: calls that come in a burst are done together, in one synchronous
// step, so they share one commit (the write-ahead log's pages and its sync), one save of the object's
// state and one alarm check, where each call alone would pay for all three. A call that comes alone
// is done at once: batching costs a short wait, and a quiet inbox should not pay it.
//
// Nothing is answered before its batch is done, and the runtime's output gate holds every answer
// until the batch's writes are durable, so a batch changes when a call commits, never whether.
import type { Clock } from "./clock";

/** One call's outcome: its result, or what it threw (a call's failure is its own, not its batch's). */
export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

interface Waiting<T, R> {
  item: T;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

export class BurstBatch<T, R> {
  private waiting: Waiting<T, R>[] = [];
  private lastAt = Number.NEGATIVE_INFINITY;

  /**
   * @param run does a batch; answers one outcome per item, in order.
   * @param timing.burstMs a call this soon after the one before it is taken as part of a burst.
   * @param timing.gatherMs how long the first call of a burst waits for the calls behind it.
   */
  constructor(
    private readonly run: (items: T[]) => Promise<Settled<R>[]>,
    private readonly clock: Clock,
    private readonly timing: { burstMs: number; gatherMs: number },
  ) {}

  add(item: T): Promise<R> {
    const now = this.clock.now();
    const inBurst = now - this.lastAt <= this.timing.burstMs;
    this.lastAt = now;
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (this.waiting.length > 1) return;
      // The first call of a burst waits for the calls behind it; the rest of the burst joins it meanwhile.
      if (inBurst) setTimeout(() => void this.flush(), this.timing.gatherMs);
      else void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    try {
      const outcomes = await this.run(batch.map((w) => w.item));
      batch.forEach((w, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) w.resolve(outcome.value);
        else w.reject(outcome.error);
      });
    } catch (error) {
      for (const w of batch) w.reject(error);
    }
  }
}

/** Runs `work` on each item, keeping what each throws as its own outcome. */
export function settleEach<T, R>(items: readonly T[], work: (item: T) => R): Settled<R>[] {
  return items.map((item) => {
    try {
      return { ok: true, value: work(item) };
    } catch (error) {
      return { ok: false, error };
    }
  });
}
