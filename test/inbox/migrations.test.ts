import { env, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { INBOX_SCHEMA_VERSION, migrateInbox } from "../../src/inbox/migrations";
import { SignUses } from "../../src/inbox/sign-uses";
import { freshApp } from "../harness/workerd/apps";

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
    expect([signs.claim("1796000000000", "m2"), signs.claim("1796000000000", "m1")]).toEqual([false, true]);
    expect(sql.exec("SELECT id FROM events ORDER BY seq").toArray()).toEqual([{ id: "evt_1" }, { id: "evt_2" }]);
    // Only the event made visible later than it arrived is in the delayed index.
    expect(
      sql.exec("SELECT id FROM events INDEXED BY events_delayed WHERE state = 'ready' AND visible_at > received_at").toArray(),
    ).toEqual([{ id: "evt_2" }]);
  });
});
