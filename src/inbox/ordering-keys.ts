// Ordering keys as the `events` table holds them: a key nobody holds marks its first ready event as
// its free front (`front = 1`, kept true by the triggers of src/inbox/migrations.ts, v10), and a key
// is held while any of its events is leased (`events_leased_keys`). This reads them.
import type { Candidate } from "./hand-out";
import { visibleRun } from "./hand-out";

/** A candidate as SQLite answers it: rows are plain objects of exactly the selected columns. */
type Front = { key: string; seq: number; size: number };

/** The keys that leased events hold, each once (with `AND consumer = ?` after it, one consumer's). */
const HELD_KEYS = "SELECT DISTINCT okey FROM events WHERE state = 'leased' AND okey IS NOT NULL";
/** The first ready event of the key `k.okey`, visible or not: nothing of a key overtakes it. */
const FIRST_READY = "(SELECT seq FROM events WHERE okey = k.okey AND state = 'ready' AND okey IS NOT NULL ORDER BY seq LIMIT 1)";

export class OrderingKeys {
  constructor(private readonly sql: SqlStorage) {}

  /** The visible fronts of the keys `consumer` holds leases of. */
  heldFronts(consumer: string, now: number): Candidate[] {
    return this.sql
      .exec<Front>(
        `SELECT k.okey AS key, e.seq, e.size
           FROM (${HELD_KEYS} AND consumer = ?) k JOIN events e ON e.seq = ${FIRST_READY}
          WHERE e.visible_at <= ?`,
        consumer,
        now,
      )
      .toArray();
  }

  /** Up to `limit` visible fronts of keys nobody holds, oldest first. */
  freeFronts(now: number, limit: number): Candidate[] {
    return this.sql
      .exec<Front>(
        `SELECT okey AS key, seq, size FROM events
          WHERE front = 1 AND state = 'ready' AND visible_at <= ? ORDER BY seq LIMIT ?`,
        now,
        limit,
      )
      .toArray();
  }

  /** Up to `limit` ready events of `key` after `afterSeq`, stopping at the first not visible yet. */
  runAfter(key: string, afterSeq: number, now: number, limit: number): Candidate[] {
    const rows = this.sql
      .exec<Front & { visible_at: number }>(
        `SELECT okey AS key, seq, visible_at, size FROM events
          WHERE okey = ? AND state = 'ready' AND okey IS NOT NULL AND seq > ? ORDER BY seq LIMIT ?`,
        key,
        afterSeq,
        limit,
      )
      .toArray();
    return visibleRun(rows, now);
  }

  /** Keys whose events are leased right now. */
  heldCount(): number {
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM (${HELD_KEYS})`).one().n;
  }

  /** The earliest front, free or held: of those visible by `visibleBy` when it is given. */
  oldestFrontSeq(visibleBy: number = Number.MAX_SAFE_INTEGER): number | null {
    const free = this.sql
      .exec<{ s: number }>(
        "SELECT seq AS s FROM events WHERE front = 1 AND state = 'ready' AND visible_at <= ? ORDER BY seq LIMIT 1",
        visibleBy,
      )
      .toArray()[0]?.s;
    const held = this.sql
      .exec<{ s: number | null }>(
        `SELECT MIN(e.seq) AS s FROM (${HELD_KEYS}) k JOIN events e ON e.seq = ${FIRST_READY} WHERE e.visible_at <= ?`,
        visibleBy,
      )
      .one().s;
    const seqs = [free ?? null, held].filter((s): s is number => s !== null);
    return seqs.length ? Math.min(...seqs) : null;
  }
}
