// Robot signatures already used. DingTalk's `sign` covers only the timestamp, so two genuine
// messages stamped in the same millisecond share one pair, while a captured pair could carry a forged
// body for the whole window. Neither may be lost or reach the agent unseen: another message within
// 2 s of the pair's first use is taken as genuine; a later one is kept aside as a dead letter for an
// operator; past 20 messages the pair is refused.

/** Another message on a pair this soon after its first use is a message of the same moment. */
export const SIGN_SHARE_MS = 2_000;
/** The most messages one pair may carry. */
export const SIGN_MAX_MESSAGES = 20;

/** What to do with a message, by the pair that signed it. */
export type SignVerdict = "take" | "keep_aside" | "refuse";

export class SignUses {
  constructor(private readonly sql: SqlStorage) {}

  /**
   * Claims `timestamp` for `msgId` at `now`. The pair's first message, and that message again
   * (DingTalk's retry), are taken; `isStored` tells a retry of another message already on the pair,
   * which is taken (and then found a duplicate) without counting as a new use.
   */
  claim(timestamp: string, msgId: string, now: number, isStored: () => boolean): SignVerdict {
    const pair = this.sql
      .exec<{ msg_id: string; first_at: number }>(
        `INSERT INTO robot_signs (timestamp, msg_id, first_at, uses) VALUES (?, ?, ?, 1)
         ON CONFLICT (timestamp) DO UPDATE SET msg_id = robot_signs.msg_id
         RETURNING msg_id, first_at`,
        Number(timestamp),
        msgId,
        now,
      )
      .one();
    if (pair.msg_id === msgId || isStored()) return "take";
    const { uses } = this.sql
      .exec<{ uses: number }>("UPDATE robot_signs SET uses = uses + 1 WHERE timestamp = ? RETURNING uses", Number(timestamp))
      .one();
    if (uses > SIGN_MAX_MESSAGES) return "refuse";
    return now - pair.first_at <= SIGN_SHARE_MS ? "take" : "keep_aside";
  }

  /** A pair whose timestamp is older than the signature window is refused as stale; its record can go. */
  sweep(cutoff: number): void {
    this.sql.exec("DELETE FROM robot_signs WHERE timestamp < ?", cutoff);
  }
}
