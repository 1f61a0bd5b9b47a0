// A leased event as consumers receive it, written by SQLite in the statement that leases it: one
// string per event leaves the inbox, where a row of sixteen fields would be read into JavaScript,
// cloned over RPC and serialised again (in an interleaved drain, 6% of the runtime's CPU an event).
// The fields and their order are the HTTP API's (src/http/event-json.ts has the stored event's), and
// the payload is spliced in as the exact text DingTalk sent.

/** What a lease hands on: the event's seq and lease id for the inbox's own books, and its JSON text. */
export type LeasedRow = { seq: number; lease_id: string; json: string };

/** The JSON text of a leased event, over the columns of its `events` row as the lease left them. */
export const LEASED_EVENT_JSON = `'{"id":' || json_quote(id) || ',"seq":' || seq || ',"kind":' || json_quote(kind)
  || ',"source":' || json_quote(source) || ',"dedupKey":' || json_quote(dedup_key)
  || ',"receivedAt":' || CAST(received_at AS INTEGER) || ',"orderingKey":' || json_quote(okey)
  || CASE WHEN replay_of IS NOT NULL THEN ',"replayOf":' || json_quote(replay_of) ELSE '' END
  || ',"attempt":' || attempt || ',"leaseId":' || json_quote(lease_id)
  || ',"leaseExpiresAt":' || CAST(lease_expires_at AS INTEGER) || ',"payload":'
  || COALESCE((SELECT payload FROM event_payloads p WHERE p.seq = events.seq), 'null') || '}'`;
