// An event as the `events` table holds it, and what every query that reads events shares.

export type EventKind = "robot" | "event";
export type EventSource = "webhook" | "stream";
export type EventState = "ready" | "leased" | "acked" | "dead" | "suppressed";

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
  /** The ordering key: one consumer at a time, in seq order, per key; null for no ordering. */
  okey: string | null;
  /** For a replayed delivery, the id of the event it replays. */
  replay_of: string | null;
};

/** The columns of a stored event, read `FROM events`; the payload is kept in `event_payloads`. */
export const ROW = `seq, id, kind, source, dedup_key, received_at, (SELECT payload FROM event_payloads p WHERE p.seq = events.seq) AS payload,
  state, attempt, lease_id, lease_expires_at, consumer, last_reason, done_at, okey, replay_of`;

/**
 * Payload bytes one answer may carry. A callback may be 1 MiB, and an RPC answer is capped well
 * below 100 of them, so a page stops at the row that crosses this (and always holds one row).
 */
export const PAGE_BYTES = 8 * 1024 * 1024;

/** The leading rows whose payloads fit in PAGE_BYTES (always the first), by seq. */
export function withinPageBytes(candidates: readonly { seq: number; size: number }[]): number[] {
  const seqs: number[] = [];
  let total = 0;
  for (const c of candidates) {
    if (total >= PAGE_BYTES) break;
    seqs.push(c.seq);
    total += c.size;
  }
  return seqs;
}
