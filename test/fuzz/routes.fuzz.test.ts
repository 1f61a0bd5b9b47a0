// Thousands of hostile requests against every route: never a 5xx, every refusal a named 4xx in our
// error shape, and nothing a refused request sent changes the inbox.
import { createExecutionContext, env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { encryptEvent, eventCipherKey } from "../../src/dingtalk/event-cipher";
import { sealEnvelope } from "../../src/dingtalk/event-envelope";
import { eventSignature } from "../../src/dingtalk/event-signature";
import { robotSign } from "../../src/dingtalk/robot-sign";
import worker from "../../src/index";
import { EVENT_AES_KEY, EVENT_OWNER_KEY, EVENT_TOKEN, ROBOT_SECRET, tokenFor } from "../harness/test-env";
import { freshApp } from "../harness/workerd/apps";
import { BASE, postEvent, postRobot, robotMessage } from "../harness/workerd/dingtalk";
import { breakBytes, mutate, Rng } from "../harness/workerd/hostile";
import { inboxWithClock } from "../harness/workerd/inbox";

// The Worker's own fetch handler, called in workerd with the real bindings. (SELF.fetch slows
// down with every call in this pool version, which thousands of cases cannot afford.)
const SELF = {
  fetch: (url: string, init?: RequestInit) => worker.fetch(new Request(url, init), env, createExecutionContext()),
};

const CASES = 3000;
const LONG = { timeout: 180_000 };

async function snapshot(app: string): Promise<string> {
  return runInDurableObject(env.INBOX.getByName(app), (_i, state) =>
    JSON.stringify(
      state.storage.sql
        .exec(
          `SELECT e.seq, e.state, e.attempt, e.dedup_key, e.lease_id, e.visible_at, p.payload
             FROM events e LEFT JOIN event_payloads p ON p.seq = e.seq ORDER BY e.seq`,
        )
        .toArray(),
    ),
  );
}

async function expectRefusalShape(res: Response, context: string) {
  expect(res.status, context).toBeLessThan(500);
  if (res.status >= 400) {
    const body = (await res.json()) as any;
    expect(typeof body.error?.code, context).toBe("string");
    expect(typeof body.error?.message, context).toBe("string");
  } else {
    await res.arrayBuffer();
  }
}

describe("fuzz", () => {
  it(`robot route: ${CASES} hostile bodies and headers`, LONG, async () => {
    const app = freshApp();
    await postRobot(app, robotMessage({ text: "before" }));
    const before = await snapshot(app);
    const rng = new Rng(0xd1ce);
    const firstTimestamp = Date.now() - CASES;
    // A mutation may still be a valid callback; two may share a hostile msgId and dedup to one.
    const accepted = new Set<string>();
    let last = { timestamp: "", sign: "" };
    for (let i = 0; i < CASES; i++) {
      // Most cases sign their own timestamp; some reuse the last pair (taken, kept aside, or refused).
      const reuse = i > 0 && rng.int(8) === 0;
      const timestamp = reuse ? last.timestamp : String(firstTimestamp + i);
      const sign = reuse ? last.sign : await robotSign(ROBOT_SECRET, timestamp);
      last = { timestamp, sign };
      const text = mutate(rng, robotMessage({ msgId: `fuzz-${i}` }));
      const body = rng.int(6) === 0 ? breakBytes(rng, text) : text;
      const headers: Record<string, string> = { timestamp, sign };
      const badHeaders = rng.int(4) === 0;
      if (badHeaders) headers[rng.pick(["timestamp", "sign"])] = rng.pick(["", "-1", "1e3", "abc", "%%%", "9".repeat(40), " "]);
      const res = await SELF.fetch(`${BASE}/dingtalk/${app}/robot`, { method: "POST", headers, body });
      if (res.status === 200) accepted.add(JSON.parse(text).msgId);
      await expectRefusalShape(res, `case ${i}: ${text.slice(0, 200)}`);
    }
    // Mutations that still make a valid callback are stored; everything else left no trace.
    const after = JSON.parse(await snapshot(app)) as unknown[];
    expect(after.length).toBe(1 + accepted.size);
    expect(JSON.stringify(after.slice(0, 1))).toBe(`${before.slice(0, -1)}]`);
  });

  it(`event route: ${CASES / 3} hostile pushes`, LONG, async () => {
    const app = freshApp();
    expect((await postEvent(app, { EventType: "x", eventId: "keep" })).status).toBe(200);
    const before = await snapshot(app);
    const rng = new Rng(0xe7e7);
    for (let i = 0; i < CASES / 3; i++) {
      const encrypt = rng.pick(["", "AAAA", "not base64", btoa("y".repeat(rng.int(200))), "0".repeat(rng.int(300))]);
      const signed = rng.int(2) === 0;
      const sig = signed ? await eventSignature(EVENT_TOKEN, "1", "n", encrypt) : "f".repeat(40);
      const text = rng.int(3) === 0 ? mutate(rng, { encrypt }) : JSON.stringify({ encrypt });
      const body = rng.int(6) === 0 ? breakBytes(rng, text) : text;
      const query = rng.pick([`msg_signature=${sig}&timestamp=1&nonce=n`, `signature=${sig}&timeStamp=1&nonce=n`, "nonce=n", ""]);
      const res = await SELF.fetch(`${BASE}/dingtalk/${app}/events?${query}`, { method: "POST", body });
      await expectRefusalShape(res, `case ${i}`);
      expect(res.status).not.toBe(200);
    }
    expect(await snapshot(app)).toBe(before);
  });

  it(`event route: ${CASES / 6} signed pushes whose decrypted text is hostile`, LONG, async () => {
    const app = freshApp();
    const cipher = (await eventCipherKey(EVENT_AES_KEY))!;
    const rng = new Rng(0xde7a);
    let before = await snapshot(app);
    for (let i = 0; i < CASES / 6; i++) {
      const text = mutate(rng, { EventType: "user_add_org", eventId: `fz-${i}`, UserId: ["u"] });
      let plain = sealEnvelope(text, EVENT_OWNER_KEY);
      if (rng.int(3) === 0) {
        const broken = breakBytes(rng, text);
        plain = new Uint8Array(20 + broken.length + EVENT_OWNER_KEY.length);
        plain.set(sealEnvelope("", EVENT_OWNER_KEY).subarray(0, 20));
        new DataView(plain.buffer).setUint32(16, broken.length);
        plain.set(broken, 20);
        plain.set(new TextEncoder().encode(EVENT_OWNER_KEY), 20 + broken.length);
      }
      const encrypt = await encryptEvent(cipher, plain);
      const timestamp = String(Date.now());
      const sig = await eventSignature(EVENT_TOKEN, timestamp, "n", encrypt);
      const res = await SELF.fetch(`${BASE}/dingtalk/${app}/events?msg_signature=${sig}&timestamp=${timestamp}&nonce=n`, {
        method: "POST",
        body: JSON.stringify({ encrypt }),
      });
      await expectRefusalShape(res, `case ${i}: ${text.slice(0, 200)}`);
      const now = await snapshot(app);
      if (res.status >= 400) expect(now, `case ${i} changed the inbox`).toBe(before);
      before = now;
    }
  });

  it(`consumer routes: ${CASES} hostile bodies and queries`, LONG, async () => {
    const app = freshApp();
    // A stopped clock: no lease may expire between two snapshots.
    await inboxWithClock(app);
    for (let i = 0; i < 3; i++) await postRobot(app, robotMessage());
    const rng = new Rng(0xc0ffee);
    const valid: Record<string, Record<string, unknown>> = {
      pull: { max: 1, waitMs: 0, leaseMs: 60_000, consumer: "c", release: false },
      ack: { leaseIds: ["lse_x"] },
      nack: { leaseIds: ["lse_x"], delayMs: 0, reason: "r" },
      extend: { leaseIds: ["lse_x"], leaseMs: 60_000 },
      heartbeat: { consumer: "c", stream: { connected: true, lastMessageAt: 1, reconnects: [1], msgIds: ["m"] } },
      "dead-letters/redrive": { ids: ["evt_x"] },
      "dead-letters/purge": { ids: ["evt_x"] },
      "events/replay": { fromSeq: 1, toSeq: 2, conversationId: "c" },
      "outbox/cancel": { keys: ["k"] },
    };
    // A pull that names the leases its consumer holds.
    valid.pull!.held = ["lse_x"];
    let refusedBefore = await snapshot(app);
    for (let i = 0; i < CASES; i++) {
      const route = rng.pick(Object.keys(valid));
      const text = mutate(rng, valid[route]!);
      const body = rng.int(8) === 0 ? breakBytes(rng, text) : text;
      const res = await SELF.fetch(`${BASE}/v1/${app}/${route}`, {
        method: "POST",
        headers: { authorization: `Bearer ${tokenFor(app)}` },
        body,
      });
      await expectRefusalShape(res, `${route} case ${i}: ${text.slice(0, 200)}`);
      const now = await snapshot(app);
      if (res.status >= 400) expect(now, `${route} case ${i} changed the inbox`).toBe(refusedBefore);
      refusedBefore = now;
    }
    for (let i = 0; i < 200; i++) {
      const q = `afterSeq=${encodeURIComponent(String(mutate(rng, { a: 1 })))}&limit=${rng.pick(["", "-1", "0", "501", "1e3", "x", "10"])}`;
      const filter = rng.pick([
        "",
        `&conversationId=${encodeURIComponent(String(mutate(rng, { c: "x" })))}`,
        "&msgId=",
        "&sender=%00",
        "&state=queued",
        "&order=up",
      ]);
      const res = await SELF.fetch(`${BASE}/v1/${app}/${rng.pick(["events", "dead-letters", "outbox"])}?${q}${filter}`, {
        headers: { authorization: `Bearer ${tokenFor(app)}` },
      });
      await expectRefusalShape(res, q);
    }
  });

  it("hostile paths, methods and auth headers", LONG, async () => {
    const rng = new Rng(7);
    const paths = [
      "/",
      "/dingtalk",
      "/dingtalk//robot",
      "/dingtalk/%00/robot",
      "/v1/default",
      "/v1/default/pull/x",
      "/v1/../v1/default/status",
      `/dingtalk/${"a".repeat(5000)}/robot`,
    ];
    for (let i = 0; i < 300; i++) {
      const path = rng.pick(paths);
      const method = rng.pick(["GET", "POST", "PUT", "DELETE", "PATCH"]);
      const auth = rng.pick(["", "Bearer", "Bearer ", "bearer test-token-a", `Bearer ${"x".repeat(10000)}`, "Basic Zm9vOmJhcg=="]);
      const res = await SELF.fetch(`${BASE}${path}`, {
        method,
        headers: auth ? { authorization: auth } : {},
        body: method === "GET" ? undefined : "{}",
      });
      await expectRefusalShape(res, `${method} ${path}`);
    }
  });
});
