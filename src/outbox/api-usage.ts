// DingTalk API calls the bridge made for this app (access tokens and the robot API), per month and
// per minute: DingTalk's editions come with a monthly quota (5,000 on the standard edition) and a
// limit per egress IP, and the robot API fallback for replies draws from both. Months are counted in
// Beijing time, where DingTalk's quotas turn.

const BEIJING_MS = 8 * 3_600_000;
const MINUTE = 60_000;

export interface ApiUsage {
  /** The month counted, "2026-12", in Beijing time. */
  month: string;
  thisMonth: number;
  thisMinute: number;
  previousMinute: number;
}

const monthOf = (now: number) => new Date(now + BEIJING_MS).toISOString().slice(0, 7);
const minuteOf = (now: number) => `minute:${Math.floor(now / MINUTE)}`;

export class ApiUsageStore {
  constructor(private readonly sql: SqlStorage) {}

  count(now: number): void {
    for (const bucket of [`month:${monthOf(now)}`, minuteOf(now)]) {
      this.sql.exec("INSERT INTO api_usage (bucket, calls) VALUES (?, 1) ON CONFLICT (bucket) DO UPDATE SET calls = calls + 1", bucket);
    }
  }

  usage(now: number): ApiUsage {
    const calls = (bucket: string) =>
      this.sql.exec<{ calls: number }>("SELECT calls FROM api_usage WHERE bucket = ?", bucket).toArray()[0]?.calls ?? 0;
    const month = monthOf(now);
    return { month, thisMonth: calls(`month:${month}`), thisMinute: calls(minuteOf(now)), previousMinute: calls(minuteOf(now - MINUTE)) };
  }

  /** Minutes older than an hour and months older than a year go. */
  sweep(now: number): void {
    this.sql.exec(
      "DELETE FROM api_usage WHERE bucket LIKE 'minute:%' AND CAST(substr(bucket, 8) AS INTEGER) < ?",
      Math.floor((now - 3_600_000) / MINUTE),
    );
    this.sql.exec("DELETE FROM api_usage WHERE bucket LIKE 'month:%' AND bucket < ?", `month:${monthOf(now - 366 * 24 * 3_600_000)}`);
  }
}
