// The fake DingTalk's HTTP side: tokens, the robot send APIs, session webhooks, a custom robot's webhook, failure switches and the control API.
import { describe, expect, it } from "vitest";
import type { FakeApp, FakeState } from "../harness/fake-dingtalk/index.ts";
import { APP, connect, fake, OTHER, openTicket, post, sleep, start, until, useFake } from "../harness/stream-test-client.ts";

useFake();

describe("sending APIs", () => {
  async function token(app: FakeApp = APP): Promise<string> {
    const res = await post(`${fake.url}/v1.0/oauth2/accessToken`, { appKey: app.clientId, appSecret: app.clientSecret });
    expect(res.json).toEqual({ accessToken: expect.any(String), expireIn: 7200 });
    return res.json.accessToken as string;
  }
  const text = (content: string) => ({ msgKey: "sampleText", msgParam: JSON.stringify({ content }) });
  const group = (t: string | null, body: Record<string, unknown>) =>
    post(`${fake.url}/v1.0/robot/groupMessages/send`, body, t === null ? {} : { "x-acs-dingtalk-access-token": t });
  const oto = (t: string, body: Record<string, unknown>) =>
    post(`${fake.url}/v1.0/robot/oToMessages/batchSend`, body, { "x-acs-dingtalk-access-token": t });

  it("issues tokens and sends group and one-to-one messages", async () => {
    const t = await token();
    const g = await group(t, { robotCode: APP.robotCode, openConversationId: "cid1==", ...text("hi") });
    expect(g).toMatchObject({ status: 200, json: { processQueryKey: expect.any(String) } });
    const o = await oto(t, {
      robotCode: APP.clientId,
      userIds: ["u1", "u2"],
      msgKey: "sampleMarkdown",
      msgParam: JSON.stringify({ title: "T", text: "**x**" }),
    });
    expect(o.json).toEqual({ processQueryKey: expect.any(String), invalidStaffIdList: [], flowControlledStaffIdList: [] });
    expect(fake.robotSends.map((s) => [s.path, s.param])).toEqual([
      ["/v1.0/robot/groupMessages/send", { content: "hi" }],
      ["/v1.0/robot/oToMessages/batchSend", { title: "T", text: "**x**" }],
    ]);
    expect(fake.tokensIssued).toHaveLength(1);
  });

  it("refuses wrong app credentials", async () => {
    const res = await post(`${fake.url}/v1.0/oauth2/accessToken`, { appKey: APP.clientId, appSecret: "nope" });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: expect.any(String), message: expect.any(String), requestid: expect.any(String) });
  });

  it("refuses missing, unknown and expired tokens as InvalidAuthentication", async () => {
    const body = { robotCode: APP.clientId, openConversationId: "c", ...text("x") };
    expect(await group(null, body)).toMatchObject({ status: 401, json: { code: "InvalidAuthentication" } });
    expect(await group("made-up", body)).toMatchObject({ status: 401, json: { code: "InvalidAuthentication" } });
    const t = await token();
    expect((await group(t, body)).status).toBe(200);
    fake.expireTokens();
    expect(await group(t, body)).toMatchObject({ status: 401, json: { code: "InvalidAuthentication" } });
    expect((await group(await token(), body)).status).toBe(200);
    expect(fake.robotSends).toHaveLength(2);
  });

  it("expires tokens after tokenTtlMs, with DingTalk's 400 when asked", async () => {
    const short = await start({ tokenTtlMs: 60, invalidTokenStatus: 400 });
    const t = (await post(`${short.url}/v1.0/oauth2/accessToken`, { appKey: APP.clientId, appSecret: APP.clientSecret })).json.accessToken;
    await sleep(80);
    const res = await post(
      `${short.url}/v1.0/robot/groupMessages/send`,
      { robotCode: APP.clientId, openConversationId: "c", ...text("x") },
      { "x-acs-dingtalk-access-token": t },
    );
    expect(res).toMatchObject({ status: 400, json: { code: "InvalidAuthentication" } });
  });

  it("validates robotCode, msgKey, msgParam and userIds as DingTalk does", async () => {
    const t = await token();
    const t2 = await token(OTHER);
    const cases: [Promise<{ status: number; json: any }>, string][] = [
      [group(t, { openConversationId: "c", ...text("x") }), "invalidParameter.robotCode.empty"],
      [group(t2, { robotCode: APP.robotCode, openConversationId: "c", ...text("x") }), "invalidParameter.robotCode.auth"],
      [
        group(t, { robotCode: APP.clientId, openConversationId: "c", msgKey: "sampleNope", msgParam: "{}" }),
        "invalidParameter.msgKey.invalid",
      ],
      [
        group(t, { robotCode: APP.clientId, openConversationId: "c", msgKey: "sampleText", msgParam: { content: "obj" } }),
        "invalidParameter.msgParam.invalid",
      ],
      [
        group(t, { robotCode: APP.clientId, openConversationId: "c", msgKey: "sampleMarkdown", msgParam: '{"text":"no title"}' }),
        "invalidParameter.msgParam.invalid",
      ],
      [group(t, { robotCode: APP.clientId, ...text("x") }), "invalidParameter.param.invalid"],
      [oto(t, { robotCode: APP.clientId, userIds: [], ...text("x") }), "invalidParameter.userIds.empty"],
      [
        oto(t, { robotCode: APP.clientId, userIds: Array.from({ length: 21 }, (_, i) => `u${i}`), ...text("x") }),
        "invalidParameter.userIds.overMax",
      ],
    ];
    for (const [call, code] of cases) expect(await call).toMatchObject({ status: 400, json: { code } });
    expect(fake.robotSends).toEqual([]);
  });

  it("refuses the robot APIs with 403 AccessTokenPermissionDenied to an app without the robot permission, before reading the body", async () => {
    const t = await token();
    const t2 = await token(OTHER);
    fake.setRobotPermission(false, APP.clientId);
    const denied = { status: 403, json: { code: "Forbidden.AccessDenied.AccessTokenPermissionDenied" } };
    // doctor's dry call: one-to-one to nobody is a parameter error with the permission, 403 without it.
    expect(await oto(t, { robotCode: APP.clientId, userIds: [], ...text("x") })).toMatchObject(denied);
    expect(await group(t, { robotCode: APP.clientId, openConversationId: "c", ...text("x") })).toMatchObject(denied);
    expect(await oto(t2, { robotCode: OTHER.clientId, userIds: [], ...text("x") })).toMatchObject({
      status: 400,
      json: { code: "invalidParameter.userIds.empty" },
    });
    expect(fake.state().robotPermissionDenied).toEqual([APP.clientId]);
    fake.setRobotPermission(true, APP.clientId);
    fake.setRobotPermission(false);
    expect(await oto(t2, { robotCode: OTHER.clientId, userIds: ["u"], ...text("x") })).toMatchObject(denied);
    fake.reset();
    expect((await oto(t, { robotCode: APP.clientId, userIds: ["u"], ...text("x") })).status).toBe(200);
  });

  it("takes posts to a custom group robot's webhook, as an alert sink, with injectable failures", async () => {
    const ok = await post(`${fake.url}/robot/send?access_token=abc&timestamp=1&sign=s`, { msgtype: "text", text: { content: "alert" } });
    expect(ok.json).toEqual({ errcode: 0, errmsg: "ok" });
    expect(fake.customRobotSends).toMatchObject([{ accessToken: "abc", signed: true, body: { msgtype: "text" } }]);
    expect((await post(`${fake.url}/robot/send`, {})).json).toMatchObject({ errcode: 300001 });
    fake.failNext("customRobot", 1, { status: 200, body: { errcode: 310000, errmsg: "sign not match" } });
    expect((await post(`${fake.url}/robot/send?access_token=abc`, {})).json).toEqual({ errcode: 310000, errmsg: "sign not match" });
    fake.failNext("customRobot", 1, { status: 502 });
    expect((await post(`${fake.url}/robot/send?access_token=abc`, {})).json).toEqual({ errcode: -1, errmsg: "系统繁忙" });
    expect(fake.customRobotSends).toHaveLength(1);
  });

  it("takes session webhook replies, with errcode 40035 for what DingTalk would refuse", async () => {
    const url = fake.sessionWebhookUrl("s+1/=");
    expect(url.startsWith(fake.url)).toBe(true);
    expect((await post(url, { msgtype: "text", text: { content: "hi" } })).json).toEqual({ errcode: 0, errmsg: "ok" });
    expect((await post(url, { msgtype: "markdown", markdown: { title: "t", text: "x" } })).json).toEqual({ errcode: 0, errmsg: "ok" });
    const bad = await post(url, { msgtype: "hologram", hologram: {} });
    expect(bad).toMatchObject({ status: 200, json: { errcode: 40035 } });
    expect(fake.sessionSends.map((s) => [s.session, s.body.msgtype])).toEqual([
      ["s+1/=", "text"],
      ["s+1/=", "markdown"],
    ]);
  });

  it("failure switches: status, reset and throttling, each for the next N calls of a route", async () => {
    fake.failNext("accessToken", 1, { status: 503 });
    expect((await post(`${fake.url}/v1.0/oauth2/accessToken`, { appKey: APP.clientId, appSecret: APP.clientSecret })).status).toBe(503);
    const t = await token();
    const body = { robotCode: APP.clientId, openConversationId: "c", ...text("x") };

    fake.failNext("groupSend", 2, { status: 500, body: { code: "Boom" } });
    expect(await group(t, body)).toMatchObject({ status: 500, json: { code: "Boom" } });
    expect((await group(t, body)).status).toBe(500);
    expect((await group(t, body)).status).toBe(200);

    fake.failNext("otoSend", 1, "reset");
    await expect(oto(t, { robotCode: APP.clientId, userIds: ["u"], ...text("x") })).rejects.toThrow();

    fake.throttleNext("session", 1);
    const throttled = await post(fake.sessionWebhookUrl("s"), { msgtype: "text", text: { content: "x" } });
    expect(throttled).toMatchObject({ status: 429, json: { code: "Throttling.Api" } });

    fake.failNext("open", 1, { status: 502 });
    expect((await openTicket(fake)).status).toBe(502);
    expect((await openTicket(fake)).status).toBe(200);

    expect(fake.httpCalls.map((c) => `${c.route}:${c.status}`)).toEqual([
      "accessToken:503",
      "accessToken:200",
      "groupSend:500",
      "groupSend:500",
      "groupSend:200",
      "otoSend:reset",
      "session:429",
      "open:502",
      "open:200",
    ]);
    expect(() => fake.failNext("nowhere", 1, "reset")).toThrow();
  });
});

describe("control API", () => {
  const control = (path: string, body: unknown = {}) => post(`${fake.url}/_fake/${path}`, body);

  it("drives the same fake from another process's point of view", async () => {
    const client = await connect(fake);
    const sent = await control("robot-message", {});
    expect(sent.json).toMatchObject({ ok: true, msgId: expect.any(String), routedTo: expect.any(String) });
    const frame = await until(() => client.callbacks()[0], "callback");
    const data = JSON.parse(frame.data) as { sessionWebhook: string; robotCode: string; msgtype: string };
    expect(data.sessionWebhook.startsWith(`${fake.url}/robot/sendBySession?session=`)).toBe(true);
    expect(data).toMatchObject({ robotCode: APP.robotCode, msgtype: "text" });

    const exact = { msgId: "msgExact==", msgtype: "text", text: { content: "x" } };
    await control("robot-message", { data: exact, clientId: APP.clientId });
    await until(() => client.callbacks()[1], "second callback");
    expect(client.callbacks()[1]!.data).toBe(JSON.stringify(exact));

    await control("raw-frame", { frame: "garbage" });
    await until(() => client.raw.includes("garbage"), "raw frame");
    await control("ping", {});
    await until(() => client.system("ping").length === 1, "ping");

    await control("stuck", { stuck: true });
    expect((await control("robot-message", {})).json.routedTo).toBeNull();
    await control("stuck", { stuck: false });

    await control("fail-next", { route: "accessToken", count: 1, status: 500 });
    expect((await post(`${fake.url}/v1.0/oauth2/accessToken`, { appKey: APP.clientId, appSecret: APP.clientSecret })).status).toBe(500);
    await control("fail-next", { route: "accessToken", count: 1, reset: true });
    await expect(post(`${fake.url}/v1.0/oauth2/accessToken`, {})).rejects.toThrow();
    await control("throttle-next", { route: "accessToken", count: 1 });
    expect((await post(`${fake.url}/v1.0/oauth2/accessToken`, {})).status).toBe(429);

    await control("refuse", { refuse: true });
    expect((await openTicket(fake)).status).toBe(401);
    await control("refuse", { refuse: false });
    await control("robot-permission", { granted: false, clientId: OTHER.clientId });
    expect(((await fetch(`${fake.url}/_fake/state`).then((r) => r.json())) as FakeState).robotPermissionDenied).toEqual([OTHER.clientId]);
    await control("robot-permission", { granted: true, clientId: OTHER.clientId });
    await control("expire-tokens");

    const state = (await fetch(`${fake.url}/_fake/state`).then((r) => r.json())) as FakeState;
    expect(state.connections).toHaveLength(1);
    expect(state.deliveries.length).toBeGreaterThanOrEqual(3);
    expect(state.refusedOpens).toBe(1);
    expect(state.violations).toEqual([]);

    await control("disconnect", {});
    expect((await client.closed).code).toBe(1000);
    const again = await connect(fake);
    await control("drop", {});
    await again.closed;
    await control("close-all");
    await control("reset");
    expect(fake.deliveries).toEqual([]);
  });

  it("answers a bad control request with 400 and an unknown one with 404", async () => {
    expect((await control("stuck", { stuck: "yes" })).status).toBe(400);
    expect((await control("fail-next", { route: "nowhere", count: 1, status: 500 })).status).toBe(400);
    expect((await control("disconnect", { connectionId: "nope" })).status).toBe(400);
    expect((await control("nothing")).status).toBe(404);
  });
});
