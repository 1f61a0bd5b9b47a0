// Reading the `events` table for people: history, dead letters, and the queue's counts for status.
import { ROW, type StoredEventRow, withinPageBytes } from "./event-row";
import type { OrderingKeys } from "./ordering-keys";

/** History of one conversation, one message, or one sender's messages. */
export interface HistoryFilter {
  conversationId?: string | undefined;
  msgId?: string | undefined;
  sender?: string | undefined;
}

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

  /**
   * Events after `afterSeq`: the oldest `limit` of them, or with `desc` the newest, newest first;
   * only those of one conversation, message or sender when `filter` says so.
   */
  history(afterSeq: number, limit: number, desc = false, filter: HistoryFilter = {}): StoredEventRow[] {
    const where = ["seq > ?"];
    const params: unknown[] = [afterSeq];
    if (filter.msgId !== undefined) {
      where.push("dedup_key = ?");
      params.push(`robot:${filter.msgId}`);
    }
    if (filter.conversationId !== undefined) {
      where.push("conversation_id = ?");
      params.push(filter.conversationId);
    }
    if (filter.sender !== undefined) {
      where.push(
        `EXISTS (SELECT 1 FROM event_payloads p WHERE p.seq = events.seq
                   AND (json_extract(p.payload, '$.senderStaffId') = ? OR json_extract(p.payload, '$.senderId') = ?))`,
      );
      params.push(filter.sender, filter.sender);
    }
    return this.page(where.join(" AND "), params, limit, desc ? "DESC" : "ASC");
  }

  deadLetters(afterSeq: number, limit: number): StoredEventRow[] {
    return this.page("state = 'dead' AND seq > ?", [afterSeq], limit);
  }

  private page(where: string, params: unknown[], limit: number, dir: "ASC" | "DESC" = "ASC"): StoredEventRow[] {
    const seqs = withinPageBytes(
      this.sql
        .exec<{ seq: number; size: number }>(`SELECT seq, size FROM events WHERE ${where} ORDER BY seq ${dir} LIMIT ?`, ...params, limit)
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

  /**
   * When the oldest ready event arrived: the older of the oldest without a key and the earliest key
   * front. With `visibleBy`, only what a consumer could take by then (a nack delay is over).
   */
  oldestReadyReceivedAt(visibleBy: number = Number.MAX_SAFE_INTEGER): number | null {
    const receivedAt = (q: string, ...params: unknown[]) => this.sql.exec<{ t: number }>(q, ...params).toArray()[0]?.t ?? null;
    const unkeyed = receivedAt(
      "SELECT received_at AS t FROM events WHERE state = 'ready' AND okey IS NULL AND visible_at <= ? ORDER BY seq LIMIT 1",
      visibleBy,
    );
    const front = this.keys.oldestFrontSeq(visibleBy);
    return min(unkeyed, front === null ? null : receivedAt("SELECT received_at AS t FROM events WHERE seq = ?", front));
  }

  counts(): QueueCounts {
    const one = (q: string) => this.sql.exec<{ n: number }>(q).one().n;
    const receivedAt = (q: string) => this.sql.exec<{ t: number | null }>(q).toArray()[0]?.t ?? null;
    const ready = this.oldestReadyReceivedAt();
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
