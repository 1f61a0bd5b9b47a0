// The inbox schema. Each entry runs once, in order, inside the Durable Object's constructor (see
// src/lib/migrate.ts); new entries add tables, columns and indexes, or replace one with its successor
// (keeping its rows), so an older object upgrades in place.
import { migrate } from "../lib/migrate";

export const INBOX_MIGRATIONS: readonly string[] = [
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
  // v6: ordering. Each robot message gets a key (its conversation, or conversation and sender) and
  // `okeys` keeps, per key with work left, its first ready event (its front) and who holds its
  // leases. Triggers keep `okeys` true whatever statement moves an event, so a pull reads fronts from
  // one index instead of walking the backlog. Stored robot messages get the default key, their
  // conversation. Also: sends retried after a crash cut their attempt off are marked.
  `ALTER TABLE sends ADD COLUMN resent_after_crash INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE events ADD COLUMN okey TEXT;
   UPDATE events SET okey = conversation_id WHERE kind = 'robot' AND conversation_id IS NOT NULL AND conversation_id <> '';
   DROP INDEX events_ready;
   CREATE INDEX events_ready_unkeyed ON events(seq) WHERE state = 'ready' AND okey IS NULL;
   CREATE INDEX events_ready_keyed ON events(okey, seq) WHERE state = 'ready' AND okey IS NOT NULL;
   CREATE TABLE okeys (
     key TEXT PRIMARY KEY,
     head_seq INTEGER,
     head_visible_at INTEGER,
     leased INTEGER NOT NULL DEFAULT 0,
     holder TEXT
   );
   CREATE INDEX okeys_free ON okeys(head_seq) WHERE leased = 0 AND head_seq IS NOT NULL;
   CREATE INDEX okeys_held ON okeys(holder) WHERE leased > 0;
   INSERT INTO okeys (key, head_seq, leased, holder)
     SELECT okey, MIN(CASE WHEN state = 'ready' THEN seq END), SUM(state = 'leased'),
            MAX(CASE WHEN state = 'leased' THEN COALESCE(consumer, '') END)
       FROM events WHERE okey IS NOT NULL AND state IN ('ready', 'leased') GROUP BY okey;
   UPDATE okeys SET head_visible_at = (SELECT visible_at FROM events WHERE seq = okeys.head_seq) WHERE head_seq IS NOT NULL;
   CREATE TRIGGER events_okey_insert AFTER INSERT ON events WHEN NEW.okey IS NOT NULL AND NEW.state = 'ready'
   BEGIN
     INSERT INTO okeys (key, head_seq, head_visible_at) VALUES (NEW.okey, NEW.seq, NEW.visible_at)
       ON CONFLICT (key) DO UPDATE SET head_seq = excluded.head_seq, head_visible_at = excluded.head_visible_at
       WHERE okeys.head_seq IS NULL OR okeys.head_seq > excluded.head_seq;
   END;
   CREATE TRIGGER events_okey_update AFTER UPDATE OF state, visible_at ON events
     WHEN NEW.okey IS NOT NULL AND (OLD.state <> NEW.state OR OLD.visible_at <> NEW.visible_at)
   BEGIN
     UPDATE okeys SET
         leased = leased + (NEW.state = 'leased') - (OLD.state = 'leased'),
         holder = CASE
           WHEN NEW.state = 'leased' THEN COALESCE(NEW.consumer, '')
           WHEN leased + (NEW.state = 'leased') - (OLD.state = 'leased') = 0 THEN NULL
           ELSE holder END
       WHERE key = NEW.okey AND (NEW.state = 'leased') <> (OLD.state = 'leased');
     UPDATE okeys SET (head_seq, head_visible_at) = (
         SELECT seq, visible_at FROM events WHERE okey = NEW.okey AND state = 'ready' AND okey IS NOT NULL ORDER BY seq LIMIT 1)
       WHERE key = NEW.okey AND head_seq = OLD.seq AND OLD.state = 'ready' AND NEW.state <> 'ready';
     INSERT INTO okeys (key, head_seq, head_visible_at) SELECT NEW.okey, NEW.seq, NEW.visible_at WHERE NEW.state = 'ready'
       ON CONFLICT (key) DO UPDATE SET head_seq = excluded.head_seq, head_visible_at = excluded.head_visible_at
       WHERE okeys.head_seq IS NULL OR okeys.head_seq >= excluded.head_seq;
     DELETE FROM okeys WHERE key = NEW.okey AND leased = 0 AND head_seq IS NULL;
   END;`,
  // v7: genuine callbacks that share a signature. A pair's first use and how many messages it has
  // carried decide whether another message on it is taken, kept aside as a dead letter, or refused;
  // dead letters from one source (sign reuse, link frames) are capped, oldest of that source first.
  // And DingTalk API calls counted per month and per minute, against the app's quota.
  `ALTER TABLE robot_signs ADD COLUMN first_at INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE robot_signs ADD COLUMN uses INTEGER NOT NULL DEFAULT 1;
   ALTER TABLE events ADD COLUMN dead_source TEXT;
   CREATE INDEX events_dead_source ON events(dead_source, seq) WHERE state = 'dead' AND dead_source IS NOT NULL;
   CREATE TABLE api_usage (bucket TEXT PRIMARY KEY, calls INTEGER NOT NULL);`,
  // v8: replay. A delivered event can be queued again as a new delivery of the same payload; the
  // copy names the event it replays.
  `ALTER TABLE events ADD COLUMN replay_of TEXT;`,
  // v9: the same upkeep of `okeys` as v6, split by what happened to the event, so that each move
  // writes the key's row once: a lease takes the front and counts the lease in one update, and the
  // end of a key's last lease deletes its row outright (v6 ran four statements on every move). Each
  // trigger is whole by itself: SQLite promises no order among triggers on one update.
  `DROP TRIGGER events_okey_update;
   CREATE TRIGGER events_okey_taken AFTER UPDATE OF state ON events
     WHEN NEW.okey IS NOT NULL AND OLD.state = 'ready' AND NEW.state = 'leased'
   BEGIN
     -- The front is the first ready event from the old front on: the old front itself unless it
     -- is the event just taken (one index seek either way).
     UPDATE okeys SET
         leased = leased + 1,
         holder = COALESCE(NEW.consumer, ''),
         (head_seq, head_visible_at) = (
           SELECT seq, visible_at FROM events
            WHERE okey = NEW.okey AND state = 'ready' AND okey IS NOT NULL AND seq >= okeys.head_seq ORDER BY seq LIMIT 1)
       WHERE key = NEW.okey;
   END;
   CREATE TRIGGER events_okey_unleased AFTER UPDATE OF state ON events
     WHEN NEW.okey IS NOT NULL AND OLD.state = 'leased' AND NEW.state <> 'leased'
   BEGIN
     DELETE FROM okeys WHERE key = NEW.okey AND leased = 1 AND head_seq IS NULL;
     UPDATE okeys SET leased = leased - 1, holder = CASE WHEN leased = 1 THEN NULL ELSE holder END WHERE key = NEW.okey;
   END;
   CREATE TRIGGER events_okey_front_dropped AFTER UPDATE OF state ON events
     WHEN NEW.okey IS NOT NULL AND OLD.state = 'ready' AND NEW.state NOT IN ('ready', 'leased')
   BEGIN
     UPDATE okeys SET (head_seq, head_visible_at) = (
         SELECT seq, visible_at FROM events WHERE okey = NEW.okey AND state = 'ready' AND okey IS NOT NULL ORDER BY seq LIMIT 1)
       WHERE key = NEW.okey AND head_seq = OLD.seq;
     DELETE FROM okeys WHERE key = NEW.okey AND leased = 0 AND head_seq IS NULL;
   END;
   CREATE TRIGGER events_okey_ready AFTER UPDATE OF state, visible_at ON events
     WHEN NEW.okey IS NOT NULL AND NEW.state = 'ready' AND (OLD.state <> 'ready' OR OLD.visible_at <> NEW.visible_at)
   BEGIN
     INSERT INTO okeys (key, head_seq, head_visible_at) VALUES (NEW.okey, NEW.seq, NEW.visible_at)
       ON CONFLICT (key) DO UPDATE SET head_seq = excluded.head_seq, head_visible_at = excluded.head_visible_at
       WHERE okeys.head_seq IS NULL OR okeys.head_seq >= excluded.head_seq;
   END;`,
  // v10: ordering without a table of keys. A key's free front (its first ready event, while no event
  // of the key is leased) is marked on the event itself, `front = 1`, and a pull reads free fronts
  // from one partial index; held keys are read from an index of the leased events. A message alone
  // in its conversation, the common case, now costs a pull and an ack no writes beyond its own row
  // and its index entries, where `okeys` cost a row written at ingest, rewritten at the lease and
  // deleted at the ack, with two index entries each time (docs/architecture.md, "Ordering"). Leases
  // clear the mark themselves; the triggers below keep it true whatever else moves an event.
  `DROP TRIGGER events_okey_insert;
   DROP TRIGGER events_okey_taken;
   DROP TRIGGER events_okey_unleased;
   DROP TRIGGER events_okey_front_dropped;
   DROP TRIGGER events_okey_ready;
   DROP TABLE okeys;
   ALTER TABLE events ADD COLUMN front INTEGER;
   CREATE INDEX events_fronts ON events(seq) WHERE front = 1 AND state = 'ready';
   CREATE INDEX events_leased_keys ON events(okey, consumer) WHERE state = 'leased' AND okey IS NOT NULL;
   UPDATE events SET front = 1
    WHERE seq IN (SELECT MIN(seq) FROM events WHERE state = 'ready' AND okey IS NOT NULL GROUP BY okey)
      AND okey NOT IN (SELECT okey FROM events WHERE state = 'leased' AND okey IS NOT NULL);
   -- An event stored without saying whether it is a front (NULL: a replay's copies, several of one
   -- key in one statement) is one when its key has nothing else ready or leased. Ingest works the
   -- mark out in its own insert (0 or 1), so this never runs for a callback.
   CREATE TRIGGER events_front_inserted AFTER INSERT ON events
     WHEN NEW.okey IS NOT NULL AND NEW.state = 'ready' AND NEW.front IS NULL
   BEGIN
     UPDATE events SET front = 1
      WHERE seq = NEW.seq
        AND NOT EXISTS (SELECT 1 FROM events WHERE okey = NEW.okey AND state = 'ready' AND okey IS NOT NULL AND seq <> NEW.seq)
        AND NOT EXISTS (SELECT 1 FROM events WHERE okey = NEW.okey AND state = 'leased' AND okey IS NOT NULL);
   END;
   -- The key's last lease ended (ack, nack, expiry, release, dead letter): its first ready event,
   -- possibly the one just returned, is the free front.
   CREATE TRIGGER events_front_freed AFTER UPDATE OF state ON events
     WHEN NEW.okey IS NOT NULL AND OLD.state = 'leased' AND NEW.state <> 'leased'
   BEGIN
     UPDATE events SET front = 1
      WHERE seq = (SELECT seq FROM events WHERE okey = NEW.okey AND state = 'ready' AND okey IS NOT NULL ORDER BY seq LIMIT 1)
        AND NOT EXISTS (SELECT 1 FROM events WHERE okey = NEW.okey AND state = 'leased' AND okey IS NOT NULL);
   END;
   -- Rarer moves (a front suppressed as a Stream duplicate, a dead letter redriven, a lease made by
   -- any statement but the pull's): the key's marks are cleared and set again from its events.
   CREATE TRIGGER events_front_moved AFTER UPDATE OF state ON events
     WHEN NEW.okey IS NOT NULL AND OLD.state <> 'leased'
      AND ((OLD.state = 'ready' AND NEW.state NOT IN ('ready', 'leased') AND OLD.front = 1)
        OR (OLD.state <> 'ready' AND NEW.state = 'ready')
        OR (NEW.state = 'leased' AND NEW.front = 1))
   BEGIN
     UPDATE events SET front = 0 WHERE seq = NEW.seq AND NEW.state = 'leased';
     UPDATE events SET front = 0 WHERE okey = NEW.okey AND state = 'ready' AND okey IS NOT NULL AND front = 1;
     UPDATE events SET front = 1
      WHERE seq = (SELECT seq FROM events WHERE okey = NEW.okey AND state = 'ready' AND okey IS NOT NULL ORDER BY seq LIMIT 1)
        AND NOT EXISTS (SELECT 1 FROM events WHERE okey = NEW.okey AND state = 'leased' AND okey IS NOT NULL);
   END;`,
  // v11: payloads in a table of their own. An event's row is written again at every move (lease, ack,
  // nack) and its payload, most of its bytes, never changes: kept apart, a lease and an ack rewrite
  // rows a quarter the size, on a quarter the pages. `size` keeps the payload's bytes for the page
  // cap, so choosing what to lease never reads a payload. Deleting an event deletes its payload.
  `CREATE TABLE event_payloads (seq INTEGER PRIMARY KEY, payload TEXT NOT NULL);
   INSERT INTO event_payloads (seq, payload) SELECT seq, payload FROM events;
   ALTER TABLE events ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
   UPDATE events SET size = octet_length(payload);
   ALTER TABLE events DROP COLUMN payload;
   CREATE TRIGGER events_payload_deleted AFTER DELETE ON events
   BEGIN
     DELETE FROM event_payloads WHERE seq = OLD.seq;
   END;`,
];

export const INBOX_SCHEMA_VERSION = INBOX_MIGRATIONS.length;

/** Brings the inbox schema up to `target` (a test may stop at an older version to upgrade from it). */
export function migrateInbox(sql: SqlStorage, target = INBOX_SCHEMA_VERSION): void {
  migrate(sql, "The inbox's", INBOX_MIGRATIONS, target);
}
