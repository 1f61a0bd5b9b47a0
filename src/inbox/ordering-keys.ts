// The `okeys` table: per ordering key with work left, its front (first ready event) and who holds
// its leases. Triggers on `events` keep it true (src/inbox/migrations.ts, v6 and v9); this reads it.
import type { Candidate } from "./hand-out";
import { visibleRun } from "./hand-out";

type Front = { key: string; seq: number; size: number };

export class OrderingKeys {
  constructor(private readonly sql: SqlStorage) {}

  /** The visible fronts of the keys `consumer` holds leases of ('' for anonymous pulls is never asked). */
  heldFronts(consumer: string, now: number): Candidate[] {
    return this.sql
      .exec<Front>(
        `SELECT o.key, o.head_seq AS seq, octet_length(e.payload) AS size
           FROM okeys o JOIN events e ON e.seq = o.head_seq
          WHERE o.leased > 0 AND o.holder = ? AND o.head_visible_at <= ?`,
        consumer,
        now,
      )
      .toArray()
      .map(candidate);
  }

  /** Up to `limit` visible fronts of keys nobody holds, oldest first. */
  freeFronts(now: number, limit: number): Candidate[] {
    return this.sql
      .exec<Front>(
        `SELECT o.key, o.head_seq AS seq, octet_length(e.payload) AS size
           FROM okeys o JOIN events e ON e.seq = o.head_seq
          WHERE o.leased = 0 AND o.head_seq IS NOT NULL AND o.head_visible_at <= ?
          ORDER BY o.head_seq LIMIT ?`,
        now,
        limit,
      )
      .toArray()
      .map(candidate);
  }

  /** Up to `limit` ready events of `key` after `afterSeq`, stopping at the first not visible yet. */
  runAfter(key: string, afterSeq: number, now: number, limit: number): Candidate[] {
    const rows = this.sql
      .exec<Front & { visible_at: number }>(
        `SELECT okey AS key, seq, visible_at, octet_length(payload) AS size FROM events
          WHERE okey = ? AND state = 'ready' AND okey IS NOT NULL AND seq > ? ORDER BY seq LIMIT ?`,
        key,
        afterSeq,
        limit,
      )
      .toArray();
    return visibleRun(rows, now).map(candidate);
  }

  /** Keys whose events are leased right now. */
  heldCount(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM okeys WHERE leased > 0").one().n;
  }

  /** The earliest front, free or held: of those visible by `visibleBy` when it is given. */
  oldestFrontSeq(visibleBy: number = Number.MAX_SAFE_INTEGER): number | null {
    const free = this.sql
      .exec<{ s: number }>(
        "SELECT head_seq AS s FROM okeys WHERE leased = 0 AND head_seq IS NOT NULL AND head_visible_at <= ? ORDER BY head_seq LIMIT 1",
        visibleBy,
      )
      .toArray()[0]?.s;
    const held = this.sql
      .exec<{ s: number | null }>("SELECT MIN(head_seq) AS s FROM okeys WHERE leased > 0 AND head_visible_at <= ?", visibleBy)
      .one().s;
    const seqs = [free ?? null, held].filter((s): s is number => s !== null);
    return seqs.length ? Math.min(...seqs) : null;
  }
}

function candidate(f: Front): Candidate {
  return { seq: f.seq, key: f.key, size: f.size };
}
