// Who has been draining this inbox, and what their Stream connection last reported.
import type { StreamReport } from "./mode-machine";

export interface ConsumerView {
  id: string;
  lastSeenAt: number;
  stream: StreamReport | null;
}

const MAX_LISTED = 50;
/** Consumer ids are whatever a token holder sends; the registry keeps the most recently added. */
export const MAX_CONSUMERS = 1_000;

export class ConsumerRegistry {
  constructor(private readonly sql: SqlStorage) {}

  seen(id: string, at: number, stream?: StreamReport): void {
    this.sql.exec(
      `INSERT INTO consumers (id, last_seen_at, stream) VALUES (?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at,
         stream = COALESCE(excluded.stream, consumers.stream)`,
      id,
      at,
      stream ? JSON.stringify(stream) : null,
    );
    this.sql.exec("DELETE FROM consumers WHERE rowid <= (SELECT MAX(rowid) FROM consumers) - ?", MAX_CONSUMERS);
  }

  list(): ConsumerView[] {
    return this.sql
      .exec<{ id: string; last_seen_at: number; stream: string | null }>(
        "SELECT id, last_seen_at, stream FROM consumers ORDER BY last_seen_at DESC LIMIT ?",
        MAX_LISTED,
      )
      .toArray()
      .map((r) => ({ id: r.id, lastSeenAt: r.last_seen_at, stream: r.stream ? JSON.parse(r.stream) : null }));
  }

  sweep(cutoff: number): void {
    this.sql.exec("DELETE FROM consumers WHERE last_seen_at < ?", cutoff);
  }
}
