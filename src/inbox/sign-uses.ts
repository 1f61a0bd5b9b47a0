// Robot signatures already used. DingTalk's `sign` covers only the timestamp, so a captured header
// pair could carry any body for the whole window; each pair is good for one msgId only.

export class SignUses {
  constructor(private readonly sql: SqlStorage) {}

  /**
   * Claims `timestamp` for `msgId`: true when it was free or already this message's (DingTalk's own
   * retry of the same message), false when another message used it first. The timestamp has passed
   * the window check, so it is a millisecond time near now.
   */
  claim(timestamp: string, msgId: string): boolean {
    const owner = this.sql
      .exec<{ msg_id: string }>(
        `INSERT INTO robot_signs (timestamp, msg_id) VALUES (?, ?)
         ON CONFLICT (timestamp) DO UPDATE SET msg_id = robot_signs.msg_id
         RETURNING msg_id`,
        Number(timestamp),
        msgId,
      )
      .one().msg_id;
    return owner === msgId;
  }

  /** A pair whose timestamp is older than the signature window is refused as stale; its record can go. */
  sweep(cutoff: number): void {
    this.sql.exec("DELETE FROM robot_signs WHERE timestamp < ?", cutoff);
  }
}
