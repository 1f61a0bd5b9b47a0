// Pulls answered in the last minute, by the Worker's poll id. When a pull's request turns out to
// have ended before its answer could leave (the client went away), the leases it was handed come
// straight back instead of waiting out LEASE_MS for a consumer that never saw them.

const KEEP_MS = 60_000;
const MAX_KEPT = 10_000;

export class ServedPolls {
  /** Insertion-ordered, so the oldest entries are pruned from the front. */
  private readonly served = new Map<string, { at: number; leaseIds: string[] }>();

  remember(pollId: string, leaseIds: string[], now: number): void {
    this.served.set(pollId, { at: now, leaseIds });
    for (const [id, entry] of this.served) {
      if (this.served.size <= MAX_KEPT && now - entry.at < KEEP_MS) break;
      this.served.delete(id);
    }
  }

  /** The lease ids a pull was answered with, once; null when it was not answered (recently). */
  take(pollId: string): string[] | null {
    const entry = this.served.get(pollId);
    if (!entry) return null;
    this.served.delete(pollId);
    return entry.leaseIds;
  }
}
