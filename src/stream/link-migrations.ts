// The link's schema, migrated like the inbox's (src/lib/migrate.ts). Links created by 0.2 made their
// table without a version row, so v1 creates it only if it is not there.
import { migrate } from "../lib/migrate";

export const LINK_MIGRATIONS: readonly string[] = [
  // v1: the link's state, one JSON row (link-state.ts).
  "CREATE TABLE IF NOT EXISTS link_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
];

export function migrateLink(sql: SqlStorage): void {
  migrate(sql, "The Stream link's", LINK_MIGRATIONS);
}
