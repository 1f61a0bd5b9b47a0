// One robot signature, several messages (issue 20, item 1). DingTalk's sign covers only the
// timestamp: two genuine messages stamped in the same millisecond share a pair, and a captured pair
// can carry a forged body. Within 2 s of its first use a pair's next message is taken; later it is
// kept aside as a dead letter an operator reads; past 20 messages the pair is refused.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { robotSign } from "../../src/dingtalk/robot-sign";
import { MAX_DEAD_LETTERS_PER_SOURCE } from "../../src/inbox/set-aside";
import { ROBOT_SECRET } from "../harness/test-env";
import { freshApp } from "../harness/workerd/apps";
import { consumerJson, postRobot, robotMessage } from "../harness/workerd/dingtalk";
import { until } from "../harness/workerd/fake";
import { inboxWithClock } from "../harness/workerd/inbox";

async function pair() {
  const timestamp = String(Date.now());
  return { timestamp, sign: await robotSign(ROBOT_SECRET, timestamp) };
}
const text = (m: any) => m.payload.text.content.trim();

describe("a signature that carries more than one message", () => {
  it("takes a second genuine message stamped in the same millisecond", async () => {
    const app = freshApp();
    await inboxWithClock(app);
    const signed = await pair();
    expect((await postRobot(app, robotMessage({ text: "one" }), signed)).status).toBe(200);
    expect((await postRobot(app, robotMessage({ text: "two" }), signed)).status).toBe(200);
    const { events } = await consumerJson(app, "pull", { consumer: "gw", max: 10 });
    expect(events.map(text)).toEqual(["one", "two"]);
    expect((await consumerJson(app, "status")).counters).toMatchObject({ signReused: 0, signReuseRefused: 0 });
  });

  it("keeps a replay after 2 s aside as a dead letter: answered 200, counted, alerted once, never handed out", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    const signed = await pair();
    expect((await postRobot(app, robotMessage({ text: "genuine" }), signed)).status).toBe(200);
    inbox.clock.advance(2_001);
    for (const t of ["forged 1", "forged 2"]) {
      const res = await postRobot(app, robotMessage({ text: t }), signed);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ msgtype: "empty" });
    }
    const { events } = await consumerJson(app, "pull", { consumer: "gw", max: 10 });
    expect(events.map(text)).toEqual(["genuine"]);
    const dead = await consumerJson(app, "dead-letters");
    expect(dead.events.map((e: any) => [text(e), e.lastReason])).toEqual([
      ["forged 1", "sign_reused"],
      ["forged 2", "sign_reused"],
    ]);
    const status = await consumerJson(app, "status");
    expect(status.counters).toMatchObject({ signReused: 2 });
    expect(status.incidents.map((i: any) => i.incident)).toContain("sign_reused");
    expect(status.alerts.filter((a: any) => a.incident === "sign_reused")).toHaveLength(1);
    // Purged by an operator, the incident resolves.
    await consumerJson(app, "dead-letters/purge", { all: true });
    const after = await consumerJson(app, "status");
    expect(after.incidents.map((i: any) => i.incident)).not.toContain("sign_reused");
    expect(after.alerts.filter((a: any) => a.incident === "sign_reused").map((a: any) => a.phase)).toEqual(["resolved", "open"]);
  });

  it("refuses the pair past 20 messages, and never counts DingTalk's own retry as another", async () => {
    const app = freshApp();
    await inboxWithClock(app);
    const signed = await pair();
    const messages = Array.from({ length: 21 }, (_, i) => robotMessage({ text: `m${i}` }));
    for (const m of messages.slice(0, 20)) expect((await postRobot(app, m, signed)).status).toBe(200);
    // A retry of a message already on the pair is a duplicate, not a 21st message.
    expect((await postRobot(app, messages[5], signed)).status).toBe(200);
    const refused = await postRobot(app, messages[20], signed);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as any).error.code).toBe("sign_reused");
    const status = await consumerJson(app, "status");
    expect(status).toMatchObject({ depth: 20, counters: { signReuseRefused: 1, duplicates: 1 } });
  });

  it("keeps at most 10,000 dead letters of one source, dropping the oldest, counted and alerted", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await runInDurableObject(inbox.stub, (_i, state) => {
      state.storage.sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO events (id, kind, source, dedup_key, received_at, size, state, visible_at, done_at, last_reason, dead_source)
         SELECT 'old' || i, 'robot', 'webhook', 'robot:old' || i, 1, 2, 'dead', 1, 1, 'sign_reused', 'sign_reused' FROM n`,
        MAX_DEAD_LETTERS_PER_SOURCE,
      );
    });
    const signed = await pair();
    await postRobot(app, robotMessage({ text: "first" }), signed);
    inbox.clock.advance(3_000);
    expect((await postRobot(app, robotMessage({ text: "one too many" }), signed)).status).toBe(200);
    const status = await consumerJson(app, "status");
    expect(status.deadLetters).toBe(MAX_DEAD_LETTERS_PER_SOURCE);
    expect(status.counters.deadLettersDropped).toBe(1);
    expect(status.incidents.map((i: any) => i.incident)).toContain("dead_letters_dropped");
    const oldest = await consumerJson(app, "dead-letters?limit=1");
    expect(oldest.events[0].id).toBe("old2");
  });
});

describe("callbacks refused at the door", () => {
  it("are counted by code in status, and a run of them raises callbacks_rejected naming the likely cause", async () => {
    const app = freshApp();
    await inboxWithClock(app);
    for (let i = 0; i < 10; i++) expect((await postRobot(app, robotMessage(), { secret: "rotated-away" })).status).toBe(401);
    expect((await postRobot(app, null, { rawBody: "{nope" })).status).toBe(400);
    const s = await until(
      "the refusals counted",
      () => consumerJson(app, "status"),
      (s: any) => s.counters.rejected.invalid_json === 1,
    );
    expect(s.counters.rejected).toEqual({ bad_signature: 10, invalid_json: 1 });
    const alert = s.alerts.find((a: any) => a.incident === "callbacks_rejected");
    expect(alert.title).toMatch(/being refused/);
    expect(s.incidents.map((i: any) => i.incident)).toContain("callbacks_rejected");
  });
});
