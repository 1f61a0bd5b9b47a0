import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { decryptEvent, eventCipherKey } from "../../src/dingtalk/event-cipher";
import { openEnvelope } from "../../src/dingtalk/event-envelope";
import { eventSignature } from "../../src/dingtalk/event-signature";
import { BASE, consumerJson, freshApp, postEvent } from "../support/dingtalk";
import { EVENT_AES_KEY, EVENT_OWNER_KEY, EVENT_TOKEN } from "../support/test-env";

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

  it("says which owner key it expected when the push is for another", async () => {
    const res = await postCheckValue("other");
    expect(res.status).toBe(401);
    const { error } = (await res.json()) as any;
    expect(error.code).toBe("owner_key_mismatch");
    expect(error.message).toContain(`"${EVENT_OWNER_KEY}"`);
    expect(error.message).toContain('"dingotherclient"');
  });

  it.each([
    ["no query", (a: string) => SELF.fetch(`${BASE}/dingtalk/${a}/events`, { method: "POST", body: "{}" }), 401, "missing_signature"],
    ["wrong signature", (a: string) => postCheckValue(a, `msg_signature=${"0".repeat(40)}&timestamp=${CHECK.timestamp}&nonce=${CHECK.nonce}`), 401, "bad_signature"],
    ["changed nonce", (a: string) => postCheckValue(a, `msg_signature=${CHECK.signature}&timestamp=${CHECK.timestamp}&nonce=x`), 401, "bad_signature"],
    ["no encrypt", (a: string) => SELF.fetch(`${BASE}/dingtalk/${a}/events?msg_signature=a&timestamp=1&nonce=n`, { method: "POST", body: "{}" }), 400, "invalid_body"],
    ["not JSON", (a: string) => SELF.fetch(`${BASE}/dingtalk/${a}/events?msg_signature=a&timestamp=1&nonce=n`, { method: "POST", body: "][" }), 400, "invalid_json"],
  ])("refuses %s", async (_n, send, status, code) => {
    const app = freshApp();
    const res = await send(app);
    expect(res.status).toBe(status);
    expect(((await res.json()) as any).error.code).toBe(code);
    expect((await consumerJson(app, "status")).depth).toBe(0);
  });

  it("refuses a signed push whose ciphertext does not decrypt", async () => {
    const app = freshApp();
    const encrypt = btoa("x".repeat(48));
    const sig = await eventSignature(EVENT_TOKEN, "1", "n", encrypt);
    const res = await SELF.fetch(`${BASE}/dingtalk/${app}/events?msg_signature=${sig}&timestamp=1&nonce=n`, {
      method: "POST",
      body: JSON.stringify({ encrypt }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe("bad_ciphertext");
  });

  it("refuses an event without eventId", async () => {
    const app = freshApp();
    const res = await postEvent(app, { EventType: "user_add_org" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe("invalid_event");
  });

  it("answers 404 while the app has no event token and key", async () => {
    const res = await postCheckValue("noevents");
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.code).toBe("events_not_configured");
  });
});
