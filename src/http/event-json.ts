// Stored events as the history routes answer them. The payload is spliced in as the exact JSON text
// DingTalk sent, so no key, number or ordering is ever changed by a parse and re-serialise. A leased
// event's JSON is written by the lease itself (src/inbox/leased-json.ts), with the same common fields
// in the same order.
import type { StoredEventRow } from "../inbox/event-row";

export function storedEventJson(r: StoredEventRow): string {
  return withPayload({ ...commonFields(r), state: r.state, attempt: r.attempt, lastReason: r.last_reason, doneAt: r.done_at }, r.payload);
}

function commonFields(r: StoredEventRow) {
  return {
    id: r.id,
    seq: r.seq,
    kind: r.kind,
    source: r.source,
    dedupKey: r.dedup_key,
    receivedAt: r.received_at,
    orderingKey: r.okey,
    ...(r.replay_of ? { replayOf: r.replay_of } : {}),
  };
}

function withPayload(meta: Record<string, unknown>, payload: string): string {
  return `${JSON.stringify(meta).slice(0, -1)},"payload":${payload}}`;
}

/** A JSON object whose `events` member is already-serialised events. */
export function eventsDocument(events: string[], rest: Record<string, unknown>): string {
  return `${JSON.stringify(rest).slice(0, -1)}${Object.keys(rest).length ? "," : ""}"events":[${events.join(",")}]}`;
}
