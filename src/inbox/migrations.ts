// The inbox schema. Each entry runs once, in order, inside the Durable Object's constructor; new
// entries add tables, columns and indexes, or replace one with its successor (keeping its rows), so
// an older object upgrades in place.

const MIGRATIONS: readonly string[] = [
  // v1: the event queue, which is also the dedup table (dedup_key is unique for as long as the row
  // is kept, that is for the retention window), and the app's own state.
  `CREATE TABLE events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL,
     kind TEXT NOT NULL,
     dedup_key TEXT NOT NULL UNIQUE,
     received_at INTEGER NOT NULL,
     payload TEXT NOT NULL,
     state TEXT NOT NULL,
     visible_at INTEGER NOT NULL,
     attempt INTEGER NOT NULL DEFAULT 0,
     lease_id TEXT,
     lease_expires_at INTEGER,
     consumer TEXT,
     last_reason TEXT,
     done_at INTEGER,
     conversation_id TEXT
   );
   CREATE INDEX events_ready ON events(seq) WHERE state = 'ready';
   CREATE INDEX events_delayed ON events(visible_at) WHERE state = 'ready';
   CREATE INDEX events_leased ON events(lease_expires_at) WHERE state = 'leased';
   CREATE INDEX events_lease_id ON events(lease_id) WHERE state = 'leased';
   CREATE INDEX events_consumer ON events(consumer) WHERE state = 'leased';
   CREATE INDEX events_dead ON events(seq) WHERE state = 'dead';
   CREATE INDEX events_received ON events(received_at);
   CREATE TABLE app_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  // v2: what the mode machine remembers and does.
  `CREATE TABLE transitions (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     subject TEXT NOT NULL,
     from_state TEXT NOT NULL,
     to_state TEXT NOT NULL,
     reason TEXT NOT NULL
   );
   CREATE TABLE consumers (id TEXT PRIMARY KEY, last_seen_at INTEGER NOT NULL, stream TEXT);
   CREATE TABLE stream_seen (msg_id TEXT PRIMARY KEY, seen_at INTEGER NOT NULL);
   CREATE INDEX stream_seen_at ON stream_seen(seen_at);
   CREATE TABLE offline_replies (conversation_id TEXT PRIMARY KEY, outage_since INTEGER NOT NULL);
   CREATE TABLE alerts (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     created_at INTEGER NOT NULL,
     incident TEXT NOT NULL,
     phase TEXT NOT NULL,
     title TEXT NOT NULL,
     text TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_at INTEGER NOT NULL,
     sent_at INTEGER,
     last_error TEXT
   );
   CREATE INDEX alerts_pending ON alerts(next_at) WHERE sent_at IS NULL;`,
  // v3: which path brought an event, retention by delivery (never by age alone), robot signatures
  // remembered so that one captured pair cannot carry a second message, and what became of each
  // alert (sent, given up, or no sink to send it to).
  `ALTER TABLE events ADD COLUMN source TEXT NOT NULL DEFAULT 'webhook';
   CREATE INDEX events_done ON events(done_at) WHERE state IN ('acked', 'suppressed');
   DROP INDEX events_received;
   CREATE TABLE sign_uses (timestamp TEXT PRIMARY KEY, msg_id TEXT NOT NULL, used_at INTEGER NOT NULL);
   CREATE INDEX sign_uses_at ON sign_uses(used_at);
   CREATE INDEX offline_replies_since ON offline_replies(outage_since);
   CREATE INDEX consumers_seen ON consumers(last_seen_at);
   ALTER TABLE alerts ADD COLUMN outcome TEXT;
   UPDATE alerts SET outcome = 'sent' WHERE sent_at IS NOT NULL;
   DROP INDEX alerts_pending;
   CREATE INDEX alerts_pending ON alerts(next_at) WHERE outcome IS NULL;`,
  // v4: sending through the bridge: the outbox (one row per idempotency key), the cached access
  // token, and events found by id for replies.
  `CREATE TABLE sends (
     key TEXT PRIMARY KEY,
     created_at INTEGER NOT NULL,
     request TEXT NOT NULL,
     state TEXT NOT NULL,
     via TEXT,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_at INTEGER,
     last_error TEXT,
     dingtalk_code TEXT,
     dingtalk_message TEXT,
     done_at INTEGER
   );
   CREATE INDEX sends_due ON sends(next_at) WHERE state IN ('queued', 'sending');
   CREATE INDEX sends_created ON sends(created_at);
   CREATE TABLE access_token (id INTEGER PRIMARY KEY CHECK (id = 1), token TEXT NOT NULL, expires_at INTEGER NOT NULL);
   CREATE INDEX events_id ON events(id);`,
  // v5: fewer index pages written per message, since every page is written again at each commit.
  // Releases find a consumer's leases among the (few) leased events without an index of their own;
  // only events whose visibility was pushed past their arrival (a nack with a delay, a release) are
  // indexed as delayed; signatures are kept by their own timestamp, which is also what ages them out.
  `DROP INDEX events_consumer;
   DROP INDEX events_delayed;
   CREATE INDEX events_delayed ON events(visible_at) WHERE state = 'ready' AND visible_at > received_at;
   CREATE TABLE robot_signs (timestamp INTEGER PRIMARY KEY, msg_id TEXT NOT NULL);
   INSERT INTO robot_signs (timestamp, msg_id)
     SELECT CAST(timestamp AS INTEGER), msg_id FROM sign_uses WHERE true ON CONFLICT DO NOTHING;
   DROP TABLE sign_uses;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the schema up to `target` (a test may stop at an older version to upgrade from it). */
export function migrate(sql: SqlStorage, target = SCHEMA_VERSION): void {
  sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  const row = sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0];
  let version = row?.version ?? 0;
  if (!row) sql.exec("INSERT INTO schema_version (version) VALUES (0)");
  while (version < target) {
    sql.exec(MIGRATIONS[version]!);
    version += 1;
    sql.exec("UPDATE schema_version SET version = ?", version);
  }
}
