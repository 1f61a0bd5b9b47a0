// Pulls that found nothing wait here until an event commits or a lease comes back.

export class Waiters {
  private readonly pending = new Set<() => void>();

  get size(): number {
    return this.pending.size;
  }

  /** Resolves on the next wake-up, or after `ms` of real time, whichever is first. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.pending.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.pending.add(done);
    });
  }

  wakeAll(): void {
    for (const done of [...this.pending]) done();
  }
}
