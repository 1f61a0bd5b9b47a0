// Reading the `events` table for people: history, dead letters, and the queue's counts for status.
import { ROW, type StoredEventRow, withinPageBytes } from "./event-row";
import type { OrderingKeys } from "./ordering-keys";

export interface QueueCounts {
  ready: number;
  leased: number;
  dead: number;
  oldestReadyReceivedAt: number | null;
  /** The oldest event not yet delivered: ready, leased or dead. Retention never deletes these. */
  oldestUndeliveredReceivedAt: number | null;
  /** Ordering keys whose events are leased right now. */
  orderingKeysHeld: number;
}

export class EventPages {
  constructor(
    private readonly sql: SqlStorage,
    private readonly keys: OrderingKeys,
  ) {}

  /** Events after `afterSeq`: the oldest `limit` of them, or with `desc` the newest, newest first. */
  history(afterSeq: number, limit: number, desc = false): StoredEventRow[] {
    return this.page("seq > ?", afterSeq, limit, desc ? "DESC" : "ASC");
  }

  deadLetters(afterSeq: number, limit: number): StoredEventRow[] {
    return this.page("state = 'dead' AND seq > ?", afterSeq, limit);
  }

  private page(where: string, afterSeq: number, limit: number, dir: "ASC" | "DESC" = "ASC"): StoredEventRow[] {
    const seqs = withinPageBytes(
      this.sql
        .exec<{ seq: number; size: number }>(
          `SELECT seq, length(CAST(payload AS BLOB)) AS size FROM events WHERE ${where} ORDER BY seq ${dir} LIMIT ?`,
          afterSeq,
          limit,
        )
        .toArray(),
    );
    if (seqs.length === 0) return [];
    return this.sql
      .exec<StoredEventRow>(
        `SELECT ${ROW} FROM events WHERE seq IN (SELECT value FROM json_each(?)) ORDER BY seq ${dir}`,
        JSON.stringify(seqs),
      )
      .toArray();
  }

  counts(): QueueCounts {
    const one = (q: string) => this.sql.exec<{ n: number }>(q).one().n;
    const receivedAt = (q: string, ...params: unknown[]) => this.sql.exec<{ t: number | null }>(q, ...params).toArray()[0]?.t ?? null;
    // The oldest ready event is the older of the oldest without a key and the earliest key front.
    const unkeyed = receivedAt("SELECT received_at AS t FROM events WHERE state = 'ready' AND okey IS NULL ORDER BY seq LIMIT 1");
    const front = this.keys.oldestFrontSeq();
    const keyed = front === null ? null : receivedAt("SELECT received_at AS t FROM events WHERE seq = ?", front);
    const ready = min(unkeyed, keyed);
    // Leased events are few (what consumers hold right now), so their oldest is found by scanning them.
    const leased = receivedAt("SELECT MIN(received_at) AS t FROM events WHERE state = 'leased'");
    const dead = receivedAt("SELECT received_at AS t FROM events WHERE state = 'dead' ORDER BY seq LIMIT 1");
    return {
      // Each term matches a partial index, so counting walks an index, not the table.
      ready:
        one("SELECT COUNT(*) AS n FROM events WHERE state = 'ready' AND okey IS NULL") +
        one("SELECT COUNT(*) AS n FROM events WHERE state = 'ready' AND okey IS NOT NULL"),
      leased: one("SELECT COUNT(*) AS n FROM events WHERE state = 'leased'"),
      dead: one("SELECT COUNT(*) AS n FROM events WHERE state = 'dead'"),
      oldestReadyReceivedAt: ready,
      oldestUndeliveredReceivedAt: min(min(ready, leased), dead),
      orderingKeysHeld: this.keys.heldCount(),
    };
  }
}

function min(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}
