// Replay: delivered events queued again as new deliveries (issue 24), for an operator who wants "run
// the last hour again" after a gateway bug. Each copy has the same payload and ordering key, a new
// id and seq, a fresh attempt count, and names the event it replays; the ordering rules hold for it
// like for any event of its key. Dead letters are redriven, not replayed; what is not delivered yet
// is not copied.
import type { Turn } from "./turn";

/** The most events one replay queues again. */
export const MAX_REPLAY = 10_000;

export interface ReplayRequest {
  ids?: string[] | undefined;
  fromSeq?: number | undefined;
  toSeq?: number | undefined;
  conversationId?: string | undefined;
}

export interface ReplayResult {
  replayed: number;
  /** Events that matched but are not delivered (ready, leased, dead): nothing to replay. */
  skipped: number;
  /** Set when more matched than one replay takes: call again from this seq. */
  nextFromSeq: number | null;
}

export function replay(t: Turn, req: ReplayRequest): ReplayResult {
  const { where, params } = filter(req);
  const sql = t.parts.storage.sql;
  const matched = sql
    .exec<{ seq: number; state: string }>(`SELECT seq, state FROM events WHERE ${where} ORDER BY seq LIMIT ?`, ...params, MAX_REPLAY + 1)
    .toArray();
  const more = matched.length > MAX_REPLAY ? matched[MAX_REPLAY]!.seq : null;
  const seqs = matched
    .slice(0, MAX_REPLAY)
    .filter((m) => m.state === "acked" || m.state === "suppressed")
    .map((m) => m.seq);
  const skipped = Math.min(matched.length, MAX_REPLAY) - seqs.length;
  if (seqs.length) {
    const copies = sql
      .exec<{ seq: number; of: number }>(
        `INSERT INTO events (id, kind, source, dedup_key, received_at, size, state, visible_at, conversation_id, okey, replay_of)
         SELECT 'evt_' || lower(hex(randomblob(16))), kind, source, 'replay:' || lower(hex(randomblob(16))), ?1, size, 'ready', ?1,
                conversation_id, okey, id
           FROM events WHERE seq IN (SELECT value FROM json_each(?2)) ORDER BY seq
         RETURNING seq, (SELECT o.seq FROM events o WHERE o.id = events.replay_of) AS of`,
        t.now,
        JSON.stringify(seqs),
      )
      .toArray();
    sql.exec(
      `INSERT INTO event_payloads (seq, payload)
       SELECT c.value ->> 'seq', p.payload FROM json_each(?) c JOIN event_payloads p ON p.seq = c.value ->> 'of'`,
      JSON.stringify(copies),
    );
    t.record([
      {
        at: t.now,
        subject: "replay",
        from: "delivered",
        to: "queued",
        reason: `an operator replayed ${seqs.length} events (${describe(req)})`,
      },
    ]);
  }
  return { replayed: seqs.length, skipped, nextFromSeq: more };
}

function filter(req: ReplayRequest): { where: string; params: unknown[] } {
  if (req.ids) return { where: "id IN (SELECT value FROM json_each(?))", params: [JSON.stringify(req.ids)] };
  const params: unknown[] = [req.fromSeq ?? 0, req.toSeq ?? Number.MAX_SAFE_INTEGER];
  let where = "seq BETWEEN ? AND ?";
  if (req.conversationId) {
    where += " AND conversation_id = ?";
    params.push(req.conversationId);
  }
  return { where, params };
}

function describe(req: ReplayRequest): string {
  if (req.ids) return `${req.ids.length} ids`;
  const range = `seq ${req.fromSeq ?? 0} to ${req.toSeq ?? "the last"}`;
  return req.conversationId ? `${range} of conversation ${req.conversationId}` : range;
}
