// An upgrade from 0.2 (issue 23, item 2): the new code opens an inbox and a Stream link that 0.2
// wrote, in place, and loses nothing queued, leased or dead; a rollback onto storage the new code
// wrote refuses to run, with a clear 503, instead of guessing.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { INBOX_SCHEMA_VERSION, migrateInbox } from "../../src/inbox/migrations";
import { claimLinkApp, freshApp } from "../harness/workerd/apps";
import { consumerFetch, consumerJson } from "../harness/workerd/dingtalk";
import { restartObject } from "../harness/workerd/inbox";

/** Storage as 0.2 left it: its schema (v5) and rows written the way 0.2 wrote them. */
function asVersion02(sql: SqlStorage, rows: string): void {
  const tables = sql
    .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'sqlite_%'")
    .toArray();
  for (const { name } of tables) sql.exec(`DROP TABLE ${name}`);
  migrateInbox(sql, 5);
  sql.exec(rows);
}

const restart = (stub: DurableObjectStub) => restartObject(stub, "upgraded");

describe("an upgrade from 0.2", () => {
  it("keeps every queued, leased and dead event of a 0.2 inbox, and hands them out under the new rules", async () => {
    const app = freshApp();
    const stub = env.INBOX.getByName(app);
    const payload = (m: string, c: string) => JSON.stringify({ msgId: m, msgtype: "text", text: { content: m }, conversationId: c });
    await runInDurableObject(stub, (_i, state) =>
      asVersion02(
        state.storage.sql,
        `INSERT INTO events (id, kind, source, dedup_key, received_at, payload, state, visible_at, conversation_id, consumer, lease_id, lease_expires_at, attempt, last_reason, done_at)
         VALUES ('e1', 'robot', 'stream', 'robot:m1', 1, '${payload("m1", "c1")}', 'leased', 1, 'c1', 'gw-a', 'lse_old', 9999999999999, 1, NULL, NULL),
                ('e2', 'robot', 'webhook', 'robot:m2', 2, '${payload("m2", "c1")}', 'ready', 2, 'c1', NULL, NULL, NULL, 0, NULL, NULL),
                ('e3', 'robot', 'webhook', 'robot:m3', 3, '${payload("m3", "c2")}', 'dead', 3, 'c2', NULL, NULL, NULL, 10, 'handler failed', 3),
                ('e4', 'robot', 'webhook', 'robot:m4', 4, '${payload("m4", "c3")}', 'acked', 4, 'c3', NULL, NULL, NULL, 1, NULL, 4);
         INSERT INTO app_state (key, value) VALUES ('state', '{"app":"${app}","counters":{"callbacksAccepted":4,"acked":1},"machine":{"mode":"webhook"}}');`,
      ),
    );
    await restart(stub);
    const status = await consumerJson(app, "status");
    expect(status).toMatchObject({ depth: 2, leased: 1, ready: 1, deadLetters: 1, mode: "webhook", orderingKeysHeld: 1 });
    expect(status.counters).toMatchObject({ callbacksAccepted: 4, acked: 1, rejected: {} });
    // The lease 0.2 made is still good, and still holds its conversation for its consumer.
    expect((await consumerJson(app, "pull", { consumer: "gw-b" })).events).toEqual([]);
    expect((await consumerJson(app, "ack", { leaseIds: ["lse_old"] })).acked).toEqual(["lse_old"]);
    expect((await consumerJson(app, "pull", { consumer: "gw-b" })).events.map((e: any) => [e.id, e.orderingKey])).toEqual([["e2", "c1"]]);
    expect((await consumerJson(app, "dead-letters")).events.map((e: any) => e.id)).toEqual(["e3"]);
    expect((await consumerJson(app, "dead-letters/redrive", {})).redriven).toBe(1);
    const schema = await runInDurableObject(
      env.INBOX.getByName(app),
      (_i, state) => state.storage.sql.exec<{ version: number }>("SELECT version FROM schema_version").one().version,
    );
    expect(schema).toBe(INBOX_SCHEMA_VERSION);
  });

  it("opens a 0.2 link's state, its reconnect budget kept", async () => {
    const app = await claimLinkApp();
    const link = env.LINKS.getByName(app);
    const opens = [Date.now() - 120_000, Date.now() - 60_000];
    await runInDurableObject(link, (_l, state) => {
      const sql = state.storage.sql;
      for (const table of ["link_state", "schema_version"]) sql.exec(`DROP TABLE IF EXISTS ${table}`);
      sql.exec("CREATE TABLE IF NOT EXISTS link_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      sql.exec(
        "INSERT INTO link_state (key, value) VALUES ('state', ?)",
        JSON.stringify({ app, phase: "backoff", opens, failures: 2, retryAt: null, lastError: "closed" }),
      );
    });
    await restart(link);
    const s = await env.LINKS.getByName(app).status();
    expect(s).toMatchObject({ state: "backoff", countedOpens: opens, lastError: "closed" });
  });

  it("refuses a rollback: storage a newer bridge wrote answers 503 bridge_outdated, naming the versions", async () => {
    const app = freshApp();
    const stub = env.INBOX.getByName(app);
    await runInDurableObject(stub, (_i, state) =>
      state.storage.sql.exec("UPDATE schema_version SET version = ?", INBOX_SCHEMA_VERSION + 1),
    );
    await restart(stub);
    const res = await consumerFetch(app, "status");
    expect(res.status).toBe(503);
    const { error } = (await res.json()) as any;
    expect(error).toMatchObject({ code: "bridge_outdated" });
    expect(error.message).toContain(`schema v${INBOX_SCHEMA_VERSION + 1}`);
  });
});
