// Robot signatures already used. DingTalk's `sign` covers only the timestamp, so a captured header
// pair could carry any body for the whole window; each pair is good for one msgId only.

export class SignUses {
  constructor(private readonly sql: SqlStorage) {}

  /**
   * Claims `timestamp` for `msgId`: true when it was free or already this message's (DingTalk's own
   * retry of the same message), false when another message used it first.
   */
  claim(timestamp: string, msgId: string, now: number): boolean {
    const owner = this.sql
      .exec<{ msg_id: string }>(
        `INSERT INTO sign_uses (timestamp, msg_id, used_at) VALUES (?, ?, ?)
         ON CONFLICT (timestamp) DO UPDATE SET used_at = sign_uses.used_at
         RETURNING msg_id`,
        timestamp,
        msgId,
        now,
      )
      .one().msg_id;
    return owner === msgId;
  }

  /** A pair older than the signature window is refused as stale anyway; its record can go. */
  sweep(cutoff: number): void {
    this.sql.exec("DELETE FROM sign_uses WHERE used_at < ?", cutoff);
  }
}
