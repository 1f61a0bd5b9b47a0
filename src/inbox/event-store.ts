// The event queue over the `events` table. Every query on a hot path (ingest, pull, ack) goes
// through an index and touches at most the rows it returns; nothing scans the backlog.

export type EventKind = "robot" | "event";
export type EventSource = "webhook" | "stream";
export type EventState = "ready" | "leased" | "acked" | "dead" | "suppressed";

export interface NewEvent {
  id: string;
  kind: EventKind;
  source: EventSource;
  dedupKey: string;
  receivedAt: number;
  /** The JSON text exactly as DingTalk sent it (decrypted, for events). */
  payload: string;
  conversationId: string | null;
  /** The robot msgId, checked against what the gateway already got over Stream. */
  streamMsgId: string | null;
  /** Stored straight into the dead letters with this reason: something DingTalk sent that is not valid. */
  deadReason?: string;
}

/** What an insert did: stored and queued, stored but suppressed or dead, or a duplicate. */
export type InsertOutcome = "ready" | "suppressed" | "dead" | "duplicate";

export type StoredEventRow = {
  seq: number;
  id: string;
  kind: EventKind;
  source: EventSource;
  dedup_key: string;
  received_at: number;
  payload: string;
  state: EventState;
  attempt: number;
  lease_id: string | null;
  lease_expires_at: number | null;
  consumer: string | null;
  last_reason: string | null;
  done_at: number | null;
};

export interface LeaseRequest {
  max: number;
  now: number;
  leaseMs: number;
  consumer: string | null;
}

export interface QueueCounts {
  ready: number;
  leased: number;
  dead: number;
  oldestReadyReceivedAt: number | null;
  /** The oldest event not yet delivered: ready, leased or dead. Retention never deletes these. */
  oldestUndeliveredReceivedAt: number | null;
}

/** Msg ids a gateway reported over its own Stream; beyond this, the oldest are forgotten first. */
export const MAX_STREAM_SEEN = 100_000;

const SUPPRESSED_AT_INGEST = "the gateway had already reported this msgId over its own Stream";
const SUPPRESSED_LATER = "already delivered over Stream";

const ROW = `seq, id, kind, source, dedup_key, received_at, payload, state, attempt, lease_id, lease_expires_at,
  consumer, last_reason, done_at`;

/**
 * Payload bytes one answer may carry. A callback may be 1 MiB, and an RPC answer is capped well
 * below 100 of them, so a page stops at the row that crosses this (and always holds one row).
 */
export const PAGE_BYTES = 8 * 1024 * 1024;

/** The leading candidates whose payloads fit in PAGE_BYTES (always the first). */
function withinPageBytes(candidates: readonly { seq: number; size: number }[]): number[] {
  const seqs: number[] = [];
  let total = 0;
  for (const c of candidates) {
    if (total >= PAGE_BYTES) break;
    seqs.push(c.seq);
    total += c.size;
  }
  return seqs;
}

/** Events a release or an expiry took back: how many, and how many of them became dead letters. */
export interface Returned {
  returned: number;
  dead: number;
}

function tally(rows: readonly { dead: boolean }[]): Returned {
  return { returned: rows.length, dead: rows.filter((r) => r.dead).length };
}

export class EventStore {
  constructor(
    private readonly sql: SqlStorage,
    private readonly maxAttempts: () => number,
  ) {}

  /** Commits one event unless its dedup key is already stored. */
  insert(e: NewEvent): InsertOutcome {
    const rows = this.sql
      .exec<{ state: InsertOutcome }>(
        `INSERT INTO events (id, kind, source, dedup_key, received_at, payload, state, visible_at, conversation_id,
                             last_reason, done_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, s.state, ?5, ?7,
                CASE s.state WHEN 'suppressed' THEN ?9 WHEN 'dead' THEN ?8 END,
                CASE WHEN s.state IN ('suppressed', 'dead') THEN ?5 END
           FROM (SELECT CASE
                   WHEN ?8 IS NOT NULL THEN 'dead'
                   WHEN EXISTS (SELECT 1 FROM stream_seen WHERE msg_id = ?10) THEN 'suppressed'
                   ELSE 'ready' END AS state) AS s
          WHERE true
         ON CONFLICT (dedup_key) DO NOTHING
         RETURNING state`,
        e.id,
        e.kind,
        e.source,
        e.dedupKey,
        e.receivedAt,
        e.payload,
        e.conversationId,
        e.deadReason ?? null,
        SUPPRESSED_AT_INGEST,
        e.streamMsgId,
      )
      .toArray();
    return rows[0]?.state ?? "duplicate";
  }

  /** Leases up to `max` visible ready events, oldest first; each lease raises `attempt`. */
  lease(req: LeaseRequest): StoredEventRow[] {
    // Two plain statements in one synchronous step (so nothing interleaves): cheaper than one
    // statement that cuts the page in SQL, and the common empty pull stops after the first.
    const seqs = this.candidates("state = 'ready' AND visible_at <= ?", req.now, req.max, "ASC");
    if (seqs.length === 0) return [];
    const rows = this.sql
      .exec<StoredEventRow>(
        `UPDATE events
            SET state = 'leased', attempt = attempt + 1, lease_id = 'lse_' || lower(hex(randomblob(12))),
                lease_expires_at = ?, consumer = ?
          WHERE seq IN (SELECT value FROM json_each(?))
          RETURNING ${ROW}`,
        req.now + req.leaseMs,
        req.consumer,
        JSON.stringify(seqs),
      )
      .toArray();
    return rows.sort((a, b) => a.seq - b.seq);
  }

  /** The seqs of up to `limit` events matching `where` (one parameter), in seq order, that fit in a page. */
  private candidates(where: string, param: number, limit: number, dir: "ASC" | "DESC"): number[] {
    return withinPageBytes(
      this.sql
        .exec<{ seq: number; size: number }>(
          `SELECT seq, length(CAST(payload AS BLOB)) AS size FROM events WHERE ${where} ORDER BY seq ${dir} LIMIT ?`,
          param,
          limit,
        )
        .toArray(),
    );
  }

  ack(leaseIds: readonly string[], now: number): string[] {
    return this.updateLeased("state = 'acked', done_at = ?", now, leaseIds);
  }

  extend(leaseIds: readonly string[], expiresAt: number): string[] {
    return this.updateLeased("lease_expires_at = ?", expiresAt, leaseIds);
  }

  /** Applies `set` to the events still leased under these ids; answers the ids that were. */
  private updateLeased(set: string, value: number, leaseIds: readonly string[]): string[] {
    return this.sql
      .exec<{ lease_id: string }>(
        `UPDATE events SET ${set}
          WHERE state = 'leased' AND lease_id IN (SELECT value FROM json_each(?))
          RETURNING lease_id`,
        value,
        JSON.stringify(leaseIds),
      )
      .toArray()
      .map((r) => r.lease_id);
  }

  /** Nack: back to the queue after `delayMs`, or to the dead letters once attempts are spent. */
  nack(leaseIds: readonly string[], now: number, delayMs: number, reason: string): { leaseId: string; dead: boolean }[] {
    return this.returnToQueue("lease_id IN (SELECT value FROM json_each(?))", [JSON.stringify(leaseIds)], now + delayMs, reason, now);
  }

  /** A restarted consumer hands back everything still leased to its id. */
  release(consumer: string, now: number): Returned {
    return tally(this.returnToQueue("consumer = ?", [consumer], now, "released by its consumer", now));
  }

  /** Leases that ran out come back (or go to the dead letters, their attempts spent). */
  reclaimExpired(now: number): Returned {
    return tally(this.returnToQueue("lease_expires_at <= ?", [now], now, "lease expired", now));
  }

  private returnToQueue(
    where: string,
    params: unknown[],
    visibleAt: number,
    reason: string,
    now: number,
  ): { leaseId: string; dead: boolean }[] {
    return this.sql
      .exec<{ lease_id: string; state: string }>(
        `UPDATE events
            SET state = CASE WHEN attempt >= ? THEN 'dead' ELSE 'ready' END,
                done_at = CASE WHEN attempt >= ? THEN ? ELSE NULL END,
                visible_at = ?, last_reason = ?, lease_expires_at = NULL, consumer = NULL
          WHERE state = 'leased' AND ${where}
          RETURNING lease_id, state`,
        this.maxAttempts(),
        this.maxAttempts(),
        now,
        visibleAt,
        reason,
        ...params,
      )
      .toArray()
      .map((r) => ({ leaseId: r.lease_id, dead: r.state === "dead" }));
  }

  /** Events the gateway already got over Stream are never handed out. */
  suppressStreamDuplicates(msgIds: readonly string[], now: number): number {
    if (msgIds.length === 0) return 0;
    const json = JSON.stringify(msgIds);
    this.sql.exec(
      `INSERT INTO stream_seen (msg_id, seen_at) SELECT value, ? FROM json_each(?) WHERE true
       ON CONFLICT (msg_id) DO UPDATE SET seen_at = excluded.seen_at`,
      now,
      json,
    );
    // A token holder can report any number of ids: the table keeps the newest MAX_STREAM_SEEN.
    this.sql.exec("DELETE FROM stream_seen WHERE rowid <= (SELECT MAX(rowid) FROM stream_seen) - ?", MAX_STREAM_SEEN);
    return this.sql
      .exec(
        `UPDATE events SET state = 'suppressed', done_at = ?, last_reason = ?
        WHERE state = 'ready' AND dedup_key IN (SELECT 'robot:' || value FROM json_each(?))
        RETURNING seq`,
        now,
        SUPPRESSED_LATER,
        json,
      )
      .toArray().length;
  }

  counts(): QueueCounts {
    const one = (q: string) => this.sql.exec<{ n: number }>(q).one().n;
    const oldest = (state: string) =>
      this.sql.exec<{ received_at: number }>(`SELECT received_at FROM events WHERE state = '${state}' ORDER BY seq LIMIT 1`).toArray()[0]
        ?.received_at ?? null;
    const ready = oldest("ready");
    // Leased events are few (what consumers hold right now), so their oldest is found by scanning them.
    const leased = this.sql.exec<{ t: number | null }>("SELECT MIN(received_at) AS t FROM events WHERE state = 'leased'").one().t;
    const undelivered = [ready, leased, oldest("dead")].filter((t): t is number => t !== null);
    return {
      ready: one("SELECT COUNT(*) AS n FROM events WHERE state = 'ready'"),
      leased: one("SELECT COUNT(*) AS n FROM events WHERE state = 'leased'"),
      dead: one("SELECT COUNT(*) AS n FROM events WHERE state = 'dead'"),
      oldestReadyReceivedAt: ready,
      oldestUndeliveredReceivedAt: undelivered.length ? Math.min(...undelivered) : null,
    };
  }

  /** One event's kind and payload, by its id (for replies). */
  byId(id: string): { kind: EventKind; payload: string } | null {
    return this.sql.exec<{ kind: EventKind; payload: string }>("SELECT kind, payload FROM events WHERE id = ?", id).toArray()[0] ?? null;
  }

  /** Events after `afterSeq`: the oldest `limit` of them, or with `desc` the newest, newest first. */
  history(afterSeq: number, limit: number, desc = false): StoredEventRow[] {
    return this.page("seq > ?", afterSeq, limit, desc ? "DESC" : "ASC");
  }

  deadLetters(afterSeq: number, limit: number): StoredEventRow[] {
    return this.page("state = 'dead' AND seq > ?", afterSeq, limit);
  }

  private page(where: string, afterSeq: number, limit: number, dir: "ASC" | "DESC" = "ASC"): StoredEventRow[] {
    const seqs = this.candidates(where, afterSeq, limit, dir);
    if (seqs.length === 0) return [];
    return this.sql
      .exec<StoredEventRow>(
        `SELECT ${ROW} FROM events WHERE seq IN (SELECT value FROM json_each(?)) ORDER BY seq ${dir}`,
        JSON.stringify(seqs),
      )
      .toArray();
  }

  /** Dead letters back into the queue with fresh attempts: the named ids, or all when none are named. */
  redrive(ids: readonly string[] | null, now: number): number {
    const filter = ids ? "AND id IN (SELECT value FROM json_each(?))" : "";
    return this.sql
      .exec(
        `UPDATE events SET state = 'ready', attempt = 0, visible_at = ?, done_at = NULL
        WHERE state = 'dead' ${filter}
        RETURNING seq`,
        now,
        ...(ids ? [JSON.stringify(ids)] : []),
      )
      .toArray().length;
  }

  /** The next moment something queued changes by itself: a lease running out or a delay ending. */
  nextDeadline(now: number): number | null {
    const lease = this.sql.exec<{ t: number | null }>("SELECT MIN(lease_expires_at) AS t FROM events WHERE state = 'leased'").one().t;
    const delayed = this.sql
      .exec<{ t: number | null }>(
        // A future visible_at is later than the arrival too: that term lets the partial index serve.
        "SELECT MIN(visible_at) AS t FROM events WHERE state = 'ready' AND visible_at > received_at AND visible_at > ?",
        now,
      )
      .one().t;
    const times = [lease, delayed].filter((t): t is number => typeof t === "number");
    return times.length ? Math.min(...times) : null;
  }

  /**
   * Drops what was delivered (acked, or suppressed as a Stream duplicate) before `cutoff`, in bounded
   * batches. Ready, leased and dead events are never deleted by age: only an ack, or a purge.
   */
  sweep(cutoff: number): number {
    let removed = 0;
    for (;;) {
      const n = this.sql
        .exec(
          `DELETE FROM events WHERE seq IN (
             SELECT seq FROM events WHERE state IN ('acked', 'suppressed') AND done_at < ? LIMIT 5000)
           RETURNING seq`,
          cutoff,
        )
        .toArray().length;
      removed += n;
      if (n < 5000) break;
    }
    this.sql.exec("DELETE FROM stream_seen WHERE seen_at < ?", cutoff);
    return removed;
  }

  /** Deletes dead letters on purpose: the named ids, or all when none are named. */
  purgeDead(ids: readonly string[] | null): number {
    const filter = ids ? "AND id IN (SELECT value FROM json_each(?))" : "";
    return this.sql.exec(`DELETE FROM events WHERE state = 'dead' ${filter} RETURNING seq`, ...(ids ? [JSON.stringify(ids)] : [])).toArray()
      .length;
  }

  /**
   * Leases handed to a long poll whose client had already gone go straight back, as if never
   * leased: nobody saw them, so the attempt does not count.
   */
  unlease(leaseIds: readonly string[], now: number): number {
    return this.sql
      .exec(
        `UPDATE events
            SET state = 'ready', attempt = MAX(attempt - 1, 0), visible_at = ?, lease_id = NULL,
                lease_expires_at = NULL, consumer = NULL
          WHERE state = 'leased' AND lease_id IN (SELECT value FROM json_each(?))
          RETURNING seq`,
        now,
        JSON.stringify(leaseIds),
      )
      .toArray().length;
  }
}
