// Leases over the `events` table: handing ready events out under the ordering rules, and every way
// a lease ends (ack, nack, expiry, a release, a consumer that no longer holds it). Every query on a
// hot path goes through an index and touches at most the rows it returns; nothing walks the backlog.

import { withinPageBytes } from "./event-row";
import { type Candidate, takeFollowUps, takeFronts } from "./hand-out";
import { LEASED_EVENT_JSON, type LeasedRow } from "./leased-json";
import { OrderingKeys } from "./ordering-keys";

export interface LeaseRequest {
  max: number;
  now: number;
  leaseMs: number;
  /** Null for an anonymous pull: it takes only keys nobody holds, one event per key. */
  consumer: string | null;
}

/** Events a release or an expiry took back: how many, and how many of them became dead letters. */
export interface Returned {
  returned: number;
  dead: number;
}

function tally(rows: readonly { dead: boolean }[]): Returned {
  return { returned: rows.length, dead: rows.filter((r) => r.dead).length };
}

export class Leases {
  readonly keys: OrderingKeys;

  constructor(
    private readonly sql: SqlStorage,
    private readonly maxAttempts: () => number,
  ) {
    this.keys = new OrderingKeys(sql);
  }

  /**
   * Leases up to `max` events the pull may take, oldest first; each lease raises `attempt`. A leased
   * front is no longer its key's free front: the lease clears the mark itself, which spares the
   * triggers any work on this, the hottest move.
   */
  lease(req: LeaseRequest): LeasedRow[] {
    const chosen = this.choose(req);
    if (chosen.length === 0) return [];
    const seqs = withinPageBytes(chosen.sort((a, b) => a.seq - b.seq));
    const rows = this.sql
      .exec<LeasedRow>(
        `UPDATE events
            SET state = 'leased', attempt = attempt + 1, lease_id = 'lse_' || lower(hex(randomblob(12))),
                lease_expires_at = ?, consumer = ?, front = 0
          WHERE seq IN (SELECT value FROM json_each(?))
          RETURNING seq, lease_id, ${LEASED_EVENT_JSON} AS json`,
        req.now + req.leaseMs,
        req.consumer,
        JSON.stringify(seqs),
      )
      .toArray();
    return rows.sort((a, b) => a.seq - b.seq);
  }

  /** The fronts first (one per key, and events without a key), then, for a named pull, what follows them. */
  private choose({ max, now, consumer }: LeaseRequest): Candidate[] {
    const unkeyed = this.sql
      .exec<Candidate>(
        `SELECT seq, NULL AS key, size FROM events
          WHERE state = 'ready' AND okey IS NULL AND visible_at <= ? ORDER BY seq LIMIT ?`,
        now,
        max,
      )
      .toArray();
    const held = consumer === null ? [] : this.keys.heldFronts(consumer, now);
    const fronts = takeFronts(max, [...unkeyed, ...held, ...this.keys.freeFronts(now, max)]);
    const room = max - fronts.length;
    if (room === 0 || consumer === null) return fronts;
    const runs = new Map<string, Candidate[]>();
    for (const f of fronts) if (f.key !== null) runs.set(f.key, this.keys.runAfter(f.key, f.seq, now, room));
    return [...fronts, ...takeFollowUps(room, runs)];
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

  /**
   * Leases handed to a long poll whose client had already gone go straight back, as if never
   * leased: nobody saw them, so the attempt does not count.
   */
  unlease(leaseIds: readonly string[], now: number): number {
    return this.unleaseWhere("lease_id IN (SELECT value FROM json_each(?))", [JSON.stringify(leaseIds)], now);
  }

  /**
   * A consumer's leases it no longer holds (an answer that never reached it, an abandoned poll) go
   * straight back, attempt not counted: `held` names every lease it still has.
   */
  returnUnheld(consumer: string, held: readonly string[], now: number): number {
    return this.unleaseWhere("consumer = ? AND lease_id NOT IN (SELECT value FROM json_each(?))", [consumer, JSON.stringify(held)], now);
  }

  private unleaseWhere(where: string, params: unknown[], now: number): number {
    return this.sql
      .exec(
        `UPDATE events
            SET state = 'ready', attempt = MAX(attempt - 1, 0), visible_at = ?, lease_id = NULL,
                lease_expires_at = NULL, consumer = NULL
          WHERE state = 'leased' AND ${where}
          RETURNING seq`,
        now,
        ...params,
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
}
