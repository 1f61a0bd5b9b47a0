// The robot API's access token, cached in the app's Durable Object until shortly before it expires.
// It never leaves this table: not in logs, not in status, not in any answer.

/** A token is not used in its last five minutes. */
const EARLY_MS = 5 * 60_000;

export class AccessTokenCache {
  constructor(private readonly sql: SqlStorage) {}

  get(now: number): string | null {
    const row = this.sql
      .exec<{ token: string; expires_at: number }>("SELECT token, expires_at FROM access_token WHERE id = 1")
      .toArray()[0];
    return row && row.expires_at - EARLY_MS > now ? row.token : null;
  }

  put(token: string, expiresAt: number): void {
    this.sql.exec(
      "INSERT INTO access_token (id, token, expires_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at",
      token,
      expiresAt,
    );
  }

  /** DingTalk refused it: the next send fetches a new one. */
  drop(): void {
    this.sql.exec("DELETE FROM access_token");
  }
}
