// Pulls that found nothing wait here. When an event commits or a lease comes back, the waiting
// pulls are served in arrival order in the same synchronous step as that write, so the event and
// its lease reach storage in one commit and the waiting consumer is answered with it.

export interface WaitingPull {
  max: number;
  leaseMs: number;
  consumer: string | null;
  /** The Worker's id for this pull's request, so the request's end can cancel it. */
  pollId: string | null;
}

interface Waiter<T> {
  pull: WaitingPull;
  resolve: (events: T[]) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class Waiters<T> {
  private readonly queue: Waiter<T>[] = [];

  get size(): number {
    return this.queue.length;
  }

  /** Resolves with the events a later `serve` hands this pull, or with none after `ms` of real time. */
  wait(ms: number, pull: WaitingPull): Promise<T[]> {
    return new Promise((resolve) => {
      const waiter: Waiter<T> = { pull, resolve, timer: setTimeout(() => this.end([waiter]), ms) };
      this.queue.push(waiter);
    });
  }

  /** Ends the waiting pulls of one consumer with nothing: a restarted consumer's old polls are dead. */
  drop(consumer: string): void {
    this.end(this.queue.filter((w) => w.pull.consumer === consumer));
  }

  /** Ends one pull with nothing, because its request ended; answers whether it was still waiting. */
  cancel(pollId: string): boolean {
    const waiting = this.queue.filter((w) => w.pull.pollId === pollId);
    this.end(waiting);
    return waiting.length > 0;
  }

  /**
   * Hands events to waiting pulls, oldest waiter first. Every waiter is asked, not only the first:
   * under the ordering rules what one may not take (another's conversation) another may.
   */
  serve(take: (pull: WaitingPull) => T[]): void {
    for (const waiter of [...this.queue]) {
      const events = take(waiter.pull);
      if (events.length === 0) continue;
      this.queue.splice(this.queue.indexOf(waiter), 1);
      clearTimeout(waiter.timer);
      waiter.resolve(events);
    }
  }

  private end(waiters: readonly Waiter<T>[]): void {
    for (const waiter of waiters) {
      const at = this.queue.indexOf(waiter);
      if (at >= 0) this.queue.splice(at, 1);
      clearTimeout(waiter.timer);
      waiter.resolve([]);
    }
  }
}
