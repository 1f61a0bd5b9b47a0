// The outbox table: one row per idempotency key, kept within retention, so the same key sends once.
import type { OutMessage, RobotTarget } from "../dingtalk/robot-send";

export type SendState = "sending" | "queued" | "sent" | "refused" | "failed" | "cancelled";

export interface SendRequest {
  replyTo?: string | undefined;
  to?: RobotTarget | undefined;
  message: OutMessage;
}

export interface SendRow {
  key: string;
  createdAt: number;
  request: SendRequest;
  state: SendState;
  via: string | null;
  attempts: number;
  nextAt: number | null;
  lastError: string | null;
  dingtalkCode: string | null;
  dingtalkMessage: string | null;
  doneAt: number | null;
}

type Raw = {
  key: string;
  created_at: number;
  request: string;
  state: SendState;
  via: string | null;
  attempts: number;
  next_at: number | null;
  last_error: string | null;
  dingtalk_code: string | null;
  dingtalk_message: string | null;
  done_at: number | null;
  resent_after_crash: number;
};

function fromRaw(r: Raw): SendRow {
  return {
    key: r.key,
    createdAt: r.created_at,
    request: JSON.parse(r.request) as SendRequest,
    state: r.state,
    via: r.via,
    attempts: r.attempts,
    nextAt: r.next_at,
    lastError: r.last_error,
    dingtalkCode: r.dingtalk_code,
    dingtalkMessage: r.dingtalk_message,
    doneAt: r.done_at,
  };
}

export class SendStore {
  constructor(private readonly sql: SqlStorage) {}

  /**
   * Claims `key` for a new send, in state `sending` until the attempt ends; `staleAt` is when a crash
   * mid-attempt would make it due again. Answers null when the key is already taken.
   */
  claim(key: string, request: SendRequest, now: number, staleAt: number): SendRow | null {
    const rows = this.sql
      .exec<Raw>(
        `INSERT INTO sends (key, created_at, request, state, next_at) VALUES (?, ?, ?, 'sending', ?)
         ON CONFLICT (key) DO NOTHING RETURNING *`,
        key,
        now,
        JSON.stringify(request),
        staleAt,
      )
      .toArray();
    return rows[0] ? fromRaw(rows[0]) : null;
  }

  get(key: string): SendRow | null {
    const row = this.sql.exec<Raw>("SELECT * FROM sends WHERE key = ?", key).toArray()[0];
    return row ? fromRaw(row) : null;
  }

  /**
   * The send due first, marked `sending` while its attempt runs so two alarms never send it twice.
   * One found still `sending` was cut off by a crash while DingTalk held it: DingTalk offers no
   * idempotency key, so its retry may deliver it twice; such a retry is marked and counted.
   */
  takeDue(now: number, staleAt: number): { row: SendRow; cutOffByCrash: boolean } | null {
    const due = this.sql
      .exec<{ key: string; state: SendState }>(
        "SELECT key, state FROM sends WHERE state IN ('queued', 'sending') AND next_at <= ? ORDER BY next_at LIMIT 1",
        now,
      )
      .toArray()[0];
    if (!due) return null;
    const cutOffByCrash = due.state === "sending";
    const row = this.sql
      .exec<Raw>(
        "UPDATE sends SET state = 'sending', next_at = ?, resent_after_crash = resent_after_crash + ? WHERE key = ? RETURNING *",
        staleAt,
        cutOffByCrash ? 1 : 0,
        due.key,
      )
      .one();
    return { row: fromRaw(row), cutOffByCrash };
  }

  /** Sends within retention whose retry followed a crash that cut their attempt off. */
  resentAfterCrash(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sends WHERE resent_after_crash > 0").one().n;
  }

  finish(
    key: string,
    state: "sent" | "refused" | "failed",
    f: { via?: string | null; error?: string | null; code?: string | null; message?: string | null; at: number; attempts: number },
  ): void {
    this.sql.exec(
      `UPDATE sends SET state = ?, via = ?, last_error = ?, dingtalk_code = ?, dingtalk_message = ?, done_at = ?, next_at = NULL, attempts = ?
        WHERE key = ?`,
      state,
      f.via ?? null,
      f.error ?? null,
      f.code ?? null,
      f.message ?? null,
      f.at,
      f.attempts,
      key,
    );
  }

  requeue(key: string, nextAt: number, attempts: number, error: string): void {
    this.sql.exec(
      "UPDATE sends SET state = 'queued', next_at = ?, attempts = ?, last_error = ? WHERE key = ?",
      nextAt,
      attempts,
      error,
      key,
    );
  }

  nextDue(): number | null {
    return this.sql.exec<{ t: number | null }>("SELECT MIN(next_at) AS t FROM sends WHERE state IN ('queued', 'sending')").one().t;
  }

  /** How many sends wait for a retry, and since when the oldest has. */
  pending(): { queued: number; oldestCreatedAt: number | null } {
    const row = this.sql
      .exec<{ n: number; t: number | null }>("SELECT COUNT(*) AS n, MIN(created_at) AS t FROM sends WHERE state IN ('queued', 'sending')")
      .one();
    return { queued: row.n, oldestCreatedAt: row.t };
  }

  /** The newest sends, optionally of one fate only (`queued` includes a send in flight). */
  list(fate: "queued" | "sent" | "refused" | "failed" | "cancelled" | undefined, limit: number): SendRow[] {
    const states = fate === "queued" ? ["queued", "sending"] : fate ? [fate] : null;
    return this.sql
      .exec<Raw>(
        `SELECT * FROM sends ${states ? "WHERE state IN (SELECT value FROM json_each(?))" : ""} ORDER BY created_at DESC LIMIT ?`,
        ...(states ? [JSON.stringify(states)] : []),
        limit,
      )
      .toArray()
      .map(fromRaw);
  }

  /** Queued sends given up on an operator's word: final for their keys. A send in flight is not stopped. */
  cancel(keys: readonly string[], now: number): string[] {
    return this.sql
      .exec<{ key: string }>(
        `UPDATE sends SET state = 'cancelled', done_at = ?, next_at = NULL, last_error = 'cancelled by an operator'
          WHERE state = 'queued' AND key IN (SELECT value FROM json_each(?)) RETURNING key`,
        now,
        JSON.stringify(keys),
      )
      .toArray()
      .map((r) => r.key);
  }

  /** Keys are kept for the retention period: within it, the same key never sends twice. */
  sweep(cutoff: number): void {
    this.sql.exec("DELETE FROM sends WHERE created_at < ? AND state IN ('sent', 'refused', 'failed', 'cancelled')", cutoff);
  }
}
