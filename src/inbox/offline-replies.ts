// Which conversations got the offline reply in which outage: each gets it once per outage.

export class OfflineReplies {
  constructor(private readonly sql: SqlStorage) {}

  /** True the first time `conversationId` is seen in the outage that began at `outageSince`. */
  claim(conversationId: string, outageSince: number): boolean {
    return (
      this.sql
        .exec(
          `INSERT INTO offline_replies (conversation_id, outage_since) VALUES (?, ?)
           ON CONFLICT (conversation_id) DO UPDATE SET outage_since = excluded.outage_since
             WHERE offline_replies.outage_since <> excluded.outage_since
           RETURNING conversation_id`,
          conversationId,
          outageSince,
        )
        .toArray().length === 1
    );
  }

  sweep(cutoff: number): void {
    this.sql.exec("DELETE FROM offline_replies WHERE outage_since < ?", cutoff);
  }
}
