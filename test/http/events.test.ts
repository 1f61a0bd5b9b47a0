import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { decryptEvent, encryptEvent, eventCipherKey } from "../../src/dingtalk/event-cipher";
import { openEnvelope, sealEnvelope } from "../../src/dingtalk/event-envelope";
import { eventSignature } from "../../src/dingtalk/event-signature";
import { EVENT_AES_KEY, EVENT_OWNER_KEY, EVENT_TOKEN } from "../harness/test-env";
import { freshApp } from "../harness/workerd/apps";
import { BASE, consumerJson, postEvent } from "../harness/workerd/dingtalk";

const CHECK = {
  signature: "03044561471240d4a14bb09372dfcfd4fd0e40cb",
  timestamp: "1608001896814",
  nonce: "WL4PK6yA",
  encrypt:
    "0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvmBKyDCYxxOK+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3",
};

function postCheckValue(app: string, query = `msg_signature=${CHECK.signature}&timestamp=${CHECK.timestamp}&nonce=${CHECK.nonce}`) {
  return SELF.fetch(`${BASE}/dingtalk/${app}/events?${query}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ encrypt: CHECK.encrypt }),
  });
}

async function expectSuccessReply(res: Response) {
  expect(res.status).toBe(200);
  const reply = (await res.json()) as any;
  expect(Object.keys(reply).sort()).toEqual(["encrypt", "msg_signature", "nonce", "timeStamp"]);
  expect(await eventSignature(EVENT_TOKEN, reply.timeStamp, reply.nonce, reply.encrypt)).toBe(reply.msg_signature);
  const cipher = (await eventCipherKey(EVENT_AES_KEY))!;
  expect(openEnvelope((await decryptEvent(cipher, reply.encrypt))!)).toEqual({ message: "success", ownerKey: EVENT_OWNER_KEY });
}

async function postSigned(app: string, encrypt: string) {
  const timestamp = String(Date.now());
  const sig = await eventSignature(EVENT_TOKEN, timestamp, "n", encrypt);
  return SELF.fetch(`${BASE}/dingtalk/${app}/events?msg_signature=${sig}&timestamp=${timestamp}&nonce=n`, {
    method: "POST",
    body: JSON.stringify({ encrypt }),
  });
}

describe("POST /dingtalk/:app/events", () => {
  it("answers DingTalk's check_url handshake check value and queues nothing", async () => {
    const app = freshApp();
    await expectSuccessReply(await postCheckValue(app));
    expect((await consumerJson(app, "status")).depth).toBe(0);
  });

  it("accepts the older parameter spellings", async () => {
    const app = freshApp();
    await expectSuccessReply(await postCheckValue(app, `signature=${CHECK.signature}&timeStamp=${CHECK.timestamp}&nonce=${CHECK.nonce}`));
    await expectSuccessReply(await postEvent(app, { EventType: "user_add_org", eventId: "e-old" }, { spelling: "old" }));
  });

  it("stores an event once per eventId, decrypted, with every key", async () => {
    const app = freshApp();
    const event = { EventType: "user_add_org", eventId: "evt-1", CorpId: "ding1", EventTime: 1700000000000, UserId: ["u1"], 名: "值" };
    await expectSuccessReply(await postEvent(app, event));
    await expectSuccessReply(await postEvent(app, event));
    const { events } = await consumerJson(app, "events");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: "event", dedupKey: "event:evt-1", payload: event });
    expect((await consumerJson(app, "status")).mode).toBe("unknown");
  });

  it("refuses a push for another owner key with the one decryption error, echoing nothing decrypted", async () => {
    const res = await postCheckValue("other");
    expect(res.status).toBe(401);
    const { error } = (await res.json()) as any;
    expect(error.code).toBe("bad_event");
    expect(error.message).toMatch(/owner key/);
    expect(error.message).not.toContain(EVENT_OWNER_KEY);
    expect(error.message).not.toContain("dingotherclient");
  });

  it("answers padding, framing and owner-key failures alike, so none can be told apart", async () => {
    const app = freshApp();
    const cipher = (await eventCipherKey(EVENT_AES_KEY))!;
    const bodies = [
      await encryptEvent(cipher, sealEnvelope('{"EventType":"x","eventId":"e"}', "ding-someone-else")),
      await encryptEvent(cipher, new TextEncoder().encode("short")),
      btoa("x".repeat(48)),
      await encryptEvent(cipher, sealEnvelope("not json", EVENT_OWNER_KEY)),
      await encryptEvent(cipher, sealEnvelope('{"a":1}', EVENT_OWNER_KEY)),
    ];
    // A flipped length field: the owner key would be read from inside the message.
    const flipped = sealEnvelope('{"EventType":"secret stuff"}', EVENT_OWNER_KEY);
    flipped[19] = 3;
    bodies.push(await encryptEvent(cipher, flipped));
    const answers = new Set<string>();
    for (const encrypt of bodies) {
      const res = await postSigned(app, encrypt);
      expect(res.status).toBe(401);
      answers.add(await res.text());
    }
    expect(answers.size).toBe(1);
    expect([...answers][0]).not.toContain("secret stuff");
    expect((await consumerJson(app, "status")).depth).toBe(0);
  });

  it("reads base64 wrapped with line breaks as the same ciphertext", async () => {
    const app = freshApp();
    const cipher = (await eventCipherKey(EVENT_AES_KEY))!;
    const encrypt = await encryptEvent(
      cipher,
      sealEnvelope(JSON.stringify({ EventType: "user_add_org", eventId: "wrapped" }), EVENT_OWNER_KEY),
    );
    const wrapped = encrypt.replace(/(.{76})/g, "$1\n");
    expect(wrapped).toContain("\n");
    await expectSuccessReply(await postSigned(app, wrapped));
    expect((await consumerJson(app, "events")).events[0].dedupKey).toBe("event:wrapped");
  });

  it("answers every check_ handshake as a handshake; a suite handshake gets its Random back", async () => {
    const app = freshApp();
    await expectSuccessReply(await postEvent(app, { EventType: "check_url" }));
    const res = await postEvent(app, { EventType: "check_create_suite_url", Random: "r4nd0m", TestSuiteKey: "suite1" });
    expect(res.status).toBe(200);
    const reply = (await res.json()) as any;
    const cipher = (await eventCipherKey(EVENT_AES_KEY))!;
    expect(openEnvelope((await decryptEvent(cipher, reply.encrypt))!)).toEqual({ message: "r4nd0m", ownerKey: EVENT_OWNER_KEY });
    await expectSuccessReply(await postEvent(app, { EventType: "check_update_suite_url" }));
    expect((await consumerJson(app, "status")).depth).toBe(0);
  });

  it("stores an event without eventId under a key derived from its content, once", async () => {
    const app = freshApp();
    const event = { EventType: "user_add_org", UserId: ["u9"] };
    await expectSuccessReply(await postEvent(app, event));
    await expectSuccessReply(await postEvent(app, event));
    const { events } = await consumerJson(app, "events");
    expect(events).toHaveLength(1);
    expect(events[0].dedupKey).toMatch(/^event:sha256:[0-9a-f]{64}$/);
    expect(events[0].payload).toEqual(event);
  });

  it("refuses a push older than the retention, but never a handshake for its age", async () => {
    const app = freshApp();
    const old = String(Date.now() - 8 * 86_400_000);
    const res = await postEvent(app, { EventType: "user_add_org", eventId: "too-old" }, { timestamp: old });
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error.code).toBe("stale_timestamp");
    await expectSuccessReply(await postEvent(app, { EventType: "check_url" }, { timestamp: old }));
    // Seconds, as some pushes send, read as seconds.
    await expectSuccessReply(
      await postEvent(app, { EventType: "user_add_org", eventId: "secs" }, { timestamp: String(Math.floor(Date.now() / 1000)) }),
    );
  });

  it.each([
    ["no query", (a: string) => SELF.fetch(`${BASE}/dingtalk/${a}/events`, { method: "POST", body: "{}" }), 401, "missing_signature"],
    [
      "wrong signature",
      (a: string) => postCheckValue(a, `msg_signature=${"0".repeat(40)}&timestamp=${CHECK.timestamp}&nonce=${CHECK.nonce}`),
      401,
      "bad_signature",
    ],
    [
      "changed nonce",
      (a: string) => postCheckValue(a, `msg_signature=${CHECK.signature}&timestamp=${CHECK.timestamp}&nonce=x`),
      401,
      "bad_signature",
    ],
    [
      "no encrypt",
      (a: string) => SELF.fetch(`${BASE}/dingtalk/${a}/events?msg_signature=a&timestamp=1&nonce=n`, { method: "POST", body: "{}" }),
      400,
      "invalid_body",
    ],
    [
      "not JSON",
      (a: string) => SELF.fetch(`${BASE}/dingtalk/${a}/events?msg_signature=a&timestamp=1&nonce=n`, { method: "POST", body: "][" }),
      400,
      "invalid_json",
    ],
  ])("refuses %s", async (_n, send, status, code) => {
    const app = freshApp();
    const res = await send(app);
    expect(res.status).toBe(status);
    expect(((await res.json()) as any).error.code).toBe(code);
    expect((await consumerJson(app, "status")).depth).toBe(0);
  });

  it("answers 404 while the app has no event token and key", async () => {
    const res = await postCheckValue("noevents");
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.code).toBe("events_not_configured");
  });
});
