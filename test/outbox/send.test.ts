// Sending through the bridge, against the fake DingTalk: the session webhook while it has time left,
// the robot API otherwise, access tokens cached and refetched once, one send per key, retries for
// what DingTalk cannot take now, and DingTalk's refusals passed on as 502 dingtalk_refused.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sendCredentials } from "../harness/test-env";
import { claimSendApp } from "../harness/workerd/apps";
import { consumerFetch, consumerJson } from "../harness/workerd/dingtalk";
import { fake } from "../harness/workerd/fake";
import { inboxWithClock } from "../harness/workerd/inbox";
import { send, storedMessage, text } from "../harness/workerd/sending";

const MIN = 60_000;

const sends = async () => (await fake("state")) as any;

describe("POST /v1/:app/send", () => {
  it("replies to a fresh message through its session webhook", async () => {
    const app = await claimSendApp();
    const id = await storedMessage(app, {});
    const res = await send(app, { replyTo: id, message: text("pong"), key: "k-fresh" });
    expect(res).toEqual({ status: 200, body: { via: "sessionWebhook", state: "sent", key: "k-fresh" } });
    const s = await sends();
    expect(s.sessionSends.filter((x: any) => x.body.text?.content === "pong")).toHaveLength(1);
  });

  it("replies through the robot API when the session webhook has under 5 minutes left: group and one-to-one", async () => {
    const app = await claimSendApp();
    const { clientId } = sendCredentials(app);
    const group = await storedMessage(app, { sessionWebhookExpiredTime: Date.now() + 4 * MIN });
    const oto = await storedMessage(app, {
      conversationType: "1",
      conversationId: "cid-single",
      sessionWebhookExpiredTime: Date.now() - MIN,
    });
    expect((await send(app, { replyTo: group, message: text("to the group") })).body).toMatchObject({ via: "robotApi", state: "sent" });
    expect(
      (await send(app, { replyTo: oto, message: { msgtype: "markdown", markdown: { title: "T", text: "**one**" } } })).body,
    ).toMatchObject({ via: "robotApi" });
    const s = await sends();
    const mine = s.robotSends.filter((r: any) => r.body.robotCode === clientId);
    expect(mine.map((r: any) => [r.path, r.body.openConversationId ?? r.body.userIds, r.body.msgKey, r.param])).toEqual([
      ["/v1.0/robot/groupMessages/send", "cid-group-1", "sampleText", { content: "to the group" }],
      ["/v1.0/robot/oToMessages/batchSend", ["staff-42"], "sampleMarkdown", { title: "T", text: "**one**" }],
    ]);
    // One access token for both, fetched once.
    expect(s.tokensIssued.filter((t: any) => t.clientId === clientId)).toHaveLength(1);
  });

  it("sends proactively to a conversation or to users through the robot API", async () => {
    const app = await claimSendApp();
    const { clientId } = sendCredentials(app);
    expect((await send(app, { to: { openConversationId: "cid-x" }, message: text("hello group") })).status).toBe(200);
    expect((await send(app, { to: { userIds: ["u1", "u2"] }, message: text("hello you") })).status).toBe(200);
    const mine = (await sends()).robotSends.filter((r: any) => r.body.robotCode === clientId);
    expect(mine.map((r: any) => r.body.openConversationId ?? r.body.userIds)).toEqual(["cid-x", ["u1", "u2"]]);
  });

  it("fetches a new access token once when DingTalk refuses the cached one", async () => {
    const app = await claimSendApp();
    const { clientId } = sendCredentials(app);
    await send(app, { to: { openConversationId: "c" }, message: text("one") });
    await fake("expire-tokens", {});
    expect((await send(app, { to: { openConversationId: "c" }, message: text("two") })).status).toBe(200);
    const s = await sends();
    expect(s.tokensIssued.filter((t: any) => t.clientId === clientId)).toHaveLength(2);
    expect(s.robotSends.filter((r: any) => r.body.robotCode === clientId)).toHaveLength(2);
  });

  it("sends once per key: a repeat answers the first result, and the key with another message is a 409 that sends nothing", async () => {
    const app = await claimSendApp();
    const { clientId } = sendCredentials(app);
    const body = { to: { openConversationId: "c" }, message: text("only once"), key: "reply:evt_1:abc" };
    const first = await send(app, body);
    const [again, other] = await Promise.all([send(app, body), send(app, { ...body, message: text("something else") })]);
    expect(again).toEqual(first);
    expect(other).toEqual({ status: 409, body: { error: { code: "key_conflict", message: expect.stringContaining("reply:evt_1:abc") } } });
    expect((await sends()).robotSends.filter((r: any) => r.body.robotCode === clientId)).toHaveLength(1);
  });

  it("three 5xx answers end in one delivered message, retried from the alarm with backoff", async () => {
    const app = await claimSendApp();
    const { clientId } = sendCredentials(app);
    const inbox = await inboxWithClock(app);
    await fake("fail-next", { route: "groupSend", count: 3, status: 503, clientId });
    const res = await send(app, { to: { openConversationId: "c5" }, message: text("persistent"), key: "k-5xx" });
    expect(res).toMatchObject({ status: 202, body: { state: "queued", key: "k-5xx" } });
    expect(res.body.retryAt).toBe(inbox.clock.now() + 5_000);
    const status = await consumerJson(app, "status");
    expect(status.outbox).toMatchObject({ queued: 1 });
    for (const wait of [5_000, 10_000]) {
      await inbox.advance(wait);
      expect((await consumerJson(app, "send/k-5xx")).state).toBe("queued");
    }
    await inbox.advance(20_000);
    const fate = await consumerJson(app, "send/k-5xx");
    expect(fate).toMatchObject({ state: "sent", via: "robotApi", attempts: 4 });
    expect((await sends()).robotSends.filter((r: any) => r.body.robotCode === clientId)).toHaveLength(1);
    expect((await consumerJson(app, "status")).outbox.queued).toBe(0);
  });

  it("a throttled send is retried, not refused", async () => {
    const app = await claimSendApp();
    const inbox = await inboxWithClock(app);
    await fake("throttle-next", { route: "otoSend", count: 1, clientId: sendCredentials(app).clientId });
    expect((await send(app, { to: { userIds: ["u"] }, message: text("later"), key: "k-throttle" })).status).toBe(202);
    await inbox.advance(5_000);
    expect(await consumerJson(app, "send/k-throttle")).toMatchObject({ state: "sent", attempts: 2 });
  });

  it("a 4xx from DingTalk answers 502 dingtalk_refused with DingTalk's code and message, and is not retried", async () => {
    const app = await claimSendApp();
    await fake("fail-next", {
      route: "groupSend",
      count: 1,
      status: 400,
      clientId: sendCredentials(app).clientId,
      body: { code: "invalidParameter.openConversationId", message: "no such group" },
    });
    const res = await send(app, { to: { openConversationId: "nope" }, message: text("x"), key: "k-refused" });
    expect(res.status).toBe(502);
    expect(res.body.error).toMatchObject({
      code: "dingtalk_refused",
      dingtalkCode: "invalidParameter.openConversationId",
      dingtalkMessage: "no such group",
      key: "k-refused",
    });
    expect(await consumerJson(app, "send/k-refused")).toMatchObject({ state: "refused", attempts: 1, retryAt: null });
    expect((await send(app, { to: { openConversationId: "nope" }, message: text("x"), key: "k-refused" })).status).toBe(502);
  });

  it("treats a session webhook on a foreign host as missing, and replies through the robot API", async () => {
    const app = await claimSendApp();
    const id = await storedMessage(app, { sessionWebhook: "https://attacker.example/steal?session=1" });
    expect((await send(app, { replyTo: id, message: text("safe") })).body).toMatchObject({ via: "robotApi", state: "sent" });
  });

  it("gives up after 24 hours of failures, with an alert, and the key answers 502 from then on", async () => {
    const app = await claimSendApp();
    const inbox = await inboxWithClock(app);
    await fake("fail-next", { route: "groupSend", count: 1000, status: 500, clientId: sendCredentials(app).clientId });
    try {
      await send(app, { to: { openConversationId: "c" }, message: text("doomed"), key: "k-doomed" });
      for (let t = 0; t < 24 * 60 * MIN; t += 10 * MIN) await inbox.advance(10 * MIN);
      await inbox.advance(10 * MIN);
    } finally {
      await fake("clear-failures", {});
    }
    const fate = await consumerJson(app, "send/k-doomed");
    expect(fate.state).toBe("failed");
    const s = await consumerJson(app, "status");
    expect(s.alerts.find((a: any) => a.incident === "send_failed")).toMatchObject({ title: "A message could not be sent to DingTalk" });
    expect((await send(app, { to: { openConversationId: "c" }, message: text("doomed"), key: "k-doomed" })).body.error.code).toBe(
      "dingtalk_unreachable",
    );
  });

  it("refuses what can never be sent with a 4xx naming why, and takes no key", async () => {
    const app = await claimSendApp();
    const external = await storedMessage(app, { conversationType: "1", senderStaffId: "", sessionWebhookExpiredTime: Date.now() });
    const cases: [Record<string, unknown>, number, string][] = [
      [{ replyTo: "evt_nope", message: text("x") }, 404, "unknown_event"],
      [{ replyTo: external, message: text("x"), key: "k-ext" }, 400, "cannot_reply"],
      [{ message: text("x") }, 400, "invalid_body"],
      [{ replyTo: external, to: { userIds: ["u"] }, message: text("x") }, 400, "invalid_body"],
      [{ to: { userIds: [] }, message: text("x") }, 400, "invalid_body"],
      [{ to: { openConversationId: "c" }, message: { msgtype: "image", image: {} } }, 400, "invalid_body"],
      [{ to: { openConversationId: "c" }, message: text("x"), key: "has space" }, 400, "invalid_body"],
    ];
    for (const [body, status, code] of cases) {
      const res = await send(app, body);
      expect([res.status, res.body.error?.code], JSON.stringify(body)).toEqual([status, code]);
    }
    expect((await consumerFetch(app, "send/k-ext")).status).toBe(404);
  });

  it("never shows an access token in an answer, in status, or in storage outside its one row", async () => {
    const app = await claimSendApp();
    const { clientId } = sendCredentials(app);
    const answer = await send(app, { to: { openConversationId: "c" }, message: text("x") });
    const status = await consumerJson(app, "status");
    const tokens = (await sends()).tokensIssued.filter((t: any) => t.clientId === clientId).map((t: any) => t.token);
    expect(tokens.length).toBeGreaterThan(0);
    const everything = JSON.stringify([answer, status, await consumerJson(app, `send/${answer.body.key}`)]);
    for (const token of tokens) expect(everything).not.toContain(token);
    const rows = await runInDurableObject(env.INBOX.getByName(app), (_i, st) =>
      JSON.stringify(st.storage.sql.exec("SELECT * FROM sends").toArray()),
    );
    for (const token of tokens) expect(rows).not.toContain(token);
  });
});

describe("the outbox, for operators", () => {
  it("lists sends by fate, and cancels one that waits: final for its key, answered 409", async () => {
    const app = await claimSendApp();
    const { clientId } = sendCredentials(app);
    await fake("fail-next", { route: "groupSend", count: 1, status: 503, clientId });
    expect((await send(app, { to: { openConversationId: "c" }, message: text("later"), key: "k-wait" })).status).toBe(202);
    await send(app, { to: { openConversationId: "c" }, message: text("now"), key: "k-now" });
    expect((await consumerJson(app, "outbox?state=queued")).sends.map((s: any) => s.key)).toEqual(["k-wait"]);
    expect((await consumerJson(app, "outbox?state=sent")).sends.map((s: any) => s.key)).toEqual(["k-now"]);
    expect(await consumerJson(app, "outbox/cancel", { keys: ["k-wait", "k-now"] })).toEqual({
      cancelled: ["k-wait"],
      notQueued: ["k-now"],
    });
    expect(await consumerJson(app, "send/k-wait")).toMatchObject({ state: "cancelled" });
    const again = await send(app, { to: { openConversationId: "c" }, message: text("later"), key: "k-wait" });
    expect(again).toMatchObject({ status: 409, body: { error: { code: "send_cancelled" } } });
  });

  it("diagnose checks the app's credentials and its robot permission against DingTalk, and the alert sink when asked", async () => {
    const app = await claimSendApp();
    const d = await consumerJson(app, "diagnose", { sink: true });
    expect(d.accessToken).toMatchObject({ ok: true });
    expect(d.robotPermission).toMatchObject({ ok: true });
    expect(d.alertSink).toMatchObject({ ok: false, detail: expect.stringContaining("ALERT_WEBHOOK_URL") });
  });
});
