import { env, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { INBOX_SCHEMA_VERSION, migrateInbox } from "../../src/inbox/migrations";
import { SignUses } from "../../src/inbox/sign-uses";
import { freshApp } from "../harness/workerd/apps";
import { consumerJson } from "../harness/workerd/dingtalk";

/** Empties the object's schema (the runtime's own _cf_ tables stay) and builds it up to `version`. */
function rebuildAt(sql: SqlStorage, version: number): void {
  const tables = sql
    .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'sqlite_%'")
    .toArray();
  for (const { name } of tables) sql.exec(`DROP TABLE ${name}`);
  migrateInbox(sql, version);
}

it("upgrades a version 4 inbox in place: its events and used signatures are kept", async () => {
  const stub = env.INBOX.getByName(freshApp());
  await runInDurableObject(stub, (_inbox, state) => {
    const sql = state.storage.sql;
    rebuildAt(sql, 4);
    sql.exec("INSERT INTO sign_uses (timestamp, msg_id, used_at) VALUES ('1796000000000', 'm1', 1796000000001)");
    sql.exec(
      `INSERT INTO events (id, kind, dedup_key, received_at, payload, state, visible_at)
       VALUES ('evt_1', 'robot', 'robot:m1', 1, '{}', 'ready', 1), ('evt_2', 'robot', 'robot:m2', 1, '{}', 'ready', 9)`,
    );
    migrateInbox(sql);
    expect(sql.exec<{ version: number }>("SELECT version FROM schema_version").one().version).toBe(INBOX_SCHEMA_VERSION);
    expect(sql.exec("SELECT timestamp, msg_id FROM robot_signs").toArray()).toEqual([{ timestamp: 1796000000000, msg_id: "m1" }]);
    const signs = new SignUses(sql);
    // The carried-over pair's first use is unknown (v7 reads it as long ago): another message on it is kept aside.
    const now = 1796000000500;
    expect([signs.claim("1796000000000", "m2", now, () => false), signs.claim("1796000000000", "m1", now, () => false)]).toEqual([
      "keep_aside",
      "take",
    ]);
    expect(sql.exec("SELECT id FROM events ORDER BY seq").toArray()).toEqual([{ id: "evt_1" }, { id: "evt_2" }]);
    // Only the event made visible later than it arrived is in the delayed index.
    expect(
      sql.exec("SELECT id FROM events INDEXED BY events_delayed WHERE state = 'ready' AND visible_at > received_at").toArray(),
    ).toEqual([{ id: "evt_2" }]);
  });
});

it("upgrades a version 5 inbox to ordering: stored robot messages get their conversation as key, leases keep their holder", async () => {
  const app = freshApp();
  const stub = env.INBOX.getByName(app);
  await runInDurableObject(stub, (_inbox, state) => {
    const sql = state.storage.sql;
    rebuildAt(sql, 5);
    sql.exec(
      `INSERT INTO events (id, kind, dedup_key, received_at, payload, state, visible_at, conversation_id, consumer, lease_id, lease_expires_at, attempt)
       VALUES ('e1', 'robot', 'robot:m1', 1, '{"msgId":"m1","msgtype":"text","conversationId":"c1"}', 'leased', 1, 'c1', 'gw-a', 'lse_1', 9999999999999, 1),
              ('e2', 'robot', 'robot:m2', 2, '{"msgId":"m2","msgtype":"text","conversationId":"c1"}', 'ready', 2, 'c1', NULL, NULL, NULL, 0),
              ('e3', 'robot', 'robot:m3', 3, '{"msgId":"m3","msgtype":"text","conversationId":"c2"}', 'ready', 3, 'c2', NULL, NULL, NULL, 0),
              ('e4', 'event', 'event:x', 4, '{"EventType":"x"}', 'ready', 4, NULL, NULL, NULL, NULL, 0)`,
    );
    migrateInbox(sql);
    expect(sql.exec("SELECT id, okey FROM events ORDER BY seq").toArray()).toEqual([
      { id: "e1", okey: "c1" },
      { id: "e2", okey: "c1" },
      { id: "e3", okey: "c2" },
      { id: "e4", okey: null },
    ]);
    // c1 is held by gw-a's lease, so its ready event is no free front; c2's is.
    expect(sql.exec("SELECT id FROM events WHERE front = 1 ORDER BY seq").toArray()).toEqual([{ id: "e3" }]);
  });
  // The upgraded inbox hands out under the rules: gw-a keeps its conversation, another gets the rest.
  const other = await consumerJson(app, "pull", { consumer: "gw-b", max: 10 });
  expect(other.events.map((e: any) => e.id)).toEqual(["e3", "e4"]);
  const holder = await consumerJson(app, "pull", { consumer: "gw-a", max: 10 });
  expect(holder.events.map((e: any) => e.id)).toEqual(["e2"]);
});

it("refuses to run on a schema newer than the code, instead of guessing", async () => {
  const stub = env.INBOX.getByName(freshApp());
  await runInDurableObject(stub, (_inbox, state) => {
    const sql = state.storage.sql;
    sql.exec("UPDATE schema_version SET version = ?", INBOX_SCHEMA_VERSION + 1);
    expect(() => migrateInbox(sql)).toThrow(
      `schema v${INBOX_SCHEMA_VERSION + 1}, written by a newer version of the bridge; this code knows v${INBOX_SCHEMA_VERSION}`,
    );
    sql.exec("UPDATE schema_version SET version = ?", INBOX_SCHEMA_VERSION);
  });
});
