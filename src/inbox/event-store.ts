// The `events` table as a store: what comes in (once per dedup key), what an operator moves by hand
// (redrive, purge), and what retention sweeps. Leases live in leases.ts, reading in event-pages.ts.
import type { EventKind, EventSource } from "./event-row";

export interface NewEvent {
  id: string;
  kind: EventKind;
  source: EventSource;
  dedupKey: string;
  receivedAt: number;
  /** The JSON text exactly as DingTalk sent it (decrypted, for events). */
  payload: string;
  conversationId: string | null;
  /** The ordering key: one consumer at a time, in seq order, per key. */
  orderingKey: string | null;
  /** The robot msgId, checked against what the gateway already got over Stream. */
  streamMsgId: string | null;
  /** Stored straight into the dead letters with this reason: something DingTalk sent that is not valid. */
  deadReason?: string | undefined;
  /** Where such a dead letter came from, for the cap on each source. */
  deadSource?: DeadSource | undefined;
}

/** Sources of dead letters that nobody nacked, each capped apart (set-aside.ts). */
export type DeadSource = "sign_reused" | "link_frame";

/** What an insert did: stored and queued, stored but suppressed or dead, or a duplicate. */
export type InsertOutcome = "ready" | "suppressed" | "dead" | "duplicate";

/** Msg ids a gateway reported over its own Stream; beyond this, the oldest are forgotten first. */
export const MAX_STREAM_SEEN = 100_000;

const SUPPRESSED_AT_INGEST = "the gateway had already reported this msgId over its own Stream";
const SUPPRESSED_LATER = "already delivered over Stream";

export class EventStore {
  constructor(private readonly sql: SqlStorage) {}

  /** Commits one event unless its dedup key is already stored. */
  insert(e: NewEvent): InsertOutcome {
    const rows = this.sql
      .exec<{ seq: number; state: InsertOutcome }>(
        `INSERT INTO events (id, kind, source, dedup_key, received_at, size, state, visible_at, conversation_id,
                             last_reason, done_at, okey, dead_source, front)
         SELECT ?1, ?2, ?3, ?4, ?5, octet_length(?6), s.state, ?5, ?7,
                CASE s.state WHEN 'suppressed' THEN ?9 WHEN 'dead' THEN ?8 END,
                CASE WHEN s.state IN ('suppressed', 'dead') THEN ?5 END, ?11, ?12,
                -- The free front of its key when the key has nothing else ready or leased.
                s.state = 'ready' AND ?11 IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM events WHERE okey = ?11 AND state = 'ready' AND okey IS NOT NULL)
                  AND NOT EXISTS (SELECT 1 FROM events WHERE okey = ?11 AND state = 'leased' AND okey IS NOT NULL)
           FROM (SELECT CASE
                   WHEN ?8 IS NOT NULL THEN 'dead'
                   WHEN EXISTS (SELECT 1 FROM stream_seen WHERE msg_id = ?10) THEN 'suppressed'
                   ELSE 'ready' END AS state) AS s
          WHERE true
         ON CONFLICT (dedup_key) DO NOTHING
         RETURNING seq, state`,
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
        e.orderingKey,
        e.deadSource ?? null,
      )
      .toArray();
    const stored = rows[0];
    if (!stored) return "duplicate";
    try {
      this.sql.exec("INSERT INTO event_payloads (seq, payload) VALUES (?, ?)", stored.seq, e.payload);
    } catch (error) {
      // Both or neither: a payload that cannot be stored takes its event back out, and the callback
      // fails (DingTalk sends it again) instead of leaving an event with nothing to hand out.
      this.sql.exec("DELETE FROM events WHERE seq = ?", stored.seq);
      throw error;
    }
    return stored.state;
  }

  /** Whether an event with this dedup key is stored. */
  has(dedupKey: string): boolean {
    return this.sql.exec("SELECT 1 FROM events WHERE dedup_key = ?", dedupKey).toArray().length > 0;
  }

  /** Keeps the newest `max` dead letters of `source`, deleting the oldest; answers how many went. */
  capDeadLetters(source: DeadSource, max: number): number {
    return this.sql
      .exec(
        `DELETE FROM events WHERE state = 'dead' AND dead_source = ?1 AND seq <= (
           SELECT seq FROM events WHERE state = 'dead' AND dead_source = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)
         RETURNING seq`,
        source,
        max,
      )
      .toArray().length;
  }

  /** How many dead letters of `source` are stored. */
  deadLettersFrom(source: DeadSource): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM events WHERE state = 'dead' AND dead_source = ?", source).one().n;
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

  /** One event's kind and payload, by its id (for replies). */
  byId(id: string): { kind: EventKind; payload: string } | null {
    return (
      this.sql
        .exec<{ kind: EventKind; payload: string }>(
          "SELECT e.kind, p.payload FROM events e JOIN event_payloads p ON p.seq = e.seq WHERE e.id = ?",
          id,
        )
        .toArray()[0] ?? null
    );
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

  /** Deletes dead letters on purpose: the named ids, or all when none are named. */
  purgeDead(ids: readonly string[] | null): number {
    const filter = ids ? "AND id IN (SELECT value FROM json_each(?))" : "";
    return this.sql.exec(`DELETE FROM events WHERE state = 'dead' ${filter} RETURNING seq`, ...(ids ? [JSON.stringify(ids)] : [])).toArray()
      .length;
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
}
