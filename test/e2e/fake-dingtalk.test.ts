// The fake DingTalk, driven by a small real Stream client over 127.0.0.1 sockets.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { sampleRobotMessage } from "../../src/dingtalk/sample-messages.ts";
import {
  type FakeApp,
  type FakeDingTalk,
  type FakeDingTalkOptions,
  type FakeState,
  ROBOT_TOPIC,
  startFakeDingTalk,
} from "../harness/fake-dingtalk/index.ts";

const APP = { clientId: "ding-app-1", clientSecret: "secret-1", robotCode: "dingrobot1" } satisfies FakeApp;
const OTHER: FakeApp = { clientId: "ding-app-2", clientSecret: "secret-2" };
const ROBOT_SUB = [{ type: "CALLBACK", topic: ROBOT_TOPIC }];

interface Frame {
  specVersion?: string;
  type: string;
  headers: { topic: string; messageId: string; contentType: string; time: string; appId?: string; connectionId?: string };
  data: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(probe: () => T | undefined | null | false, what: string, timeoutMs = 3000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// `any` for answers: the tests match them against DingTalk's shapes, which is the point of them.
async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; json: any }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, text, json };
}

async function openTicket(fake: FakeDingTalk, app: FakeApp = APP, subscriptions = ROBOT_SUB) {
  const res = await post(`${fake.url}/v1.0/gateway/connections/open`, {
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    subscriptions,
    ua: "fake-dingtalk-test/1",
    localIp: "127.0.0.1",
  });
  return res as { status: number; text: string; json: { endpoint: string; ticket: string } };
}

/** A minimal Stream client that acks the way the protocol document says, unless told not to. */
class Client {
  readonly frames: Frame[] = [];
  readonly raw: string[] = [];
  ackCallbacks = true;
  ackPings = true;
  readonly closed: Promise<{ code: number }>;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.on("close", (code) => resolve({ code })));
    ws.on("message", (data) => {
      const text = String(data);
      this.raw.push(text);
      let frame: Frame;
      try {
        frame = JSON.parse(text) as Frame;
      } catch {
        return;
      }
      this.frames.push(frame);
      if (frame.type === "SYSTEM" && frame.headers?.topic === "ping" && this.ackPings) this.ack(frame, frame.data);
      if (frame.type === "CALLBACK" && this.ackCallbacks) this.ack(frame, JSON.stringify({ response: null }));
    });
  }

  static async connect(fake: FakeDingTalk, app: FakeApp = APP, subscriptions = ROBOT_SUB): Promise<Client> {
    const { json } = await openTicket(fake, app, subscriptions);
    return Client.connectTo(`${json.endpoint}?ticket=${encodeURIComponent(json.ticket)}`);
  }

  static connectTo(url: string): Promise<Client> {
    const ws = new WebSocket(url);
    const client = new Client(ws);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(client));
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once("error", reject);
    });
  }

  ack(frame: Frame, data: string, code = 200): void {
    this.ws.send(
      JSON.stringify({ code, headers: { contentType: "application/json", messageId: frame.headers.messageId }, message: "OK", data }),
    );
  }

  callbacks(): Frame[] {
    return this.frames.filter((f) => f.type === "CALLBACK");
  }

  system(topic: string): Frame[] {
    return this.frames.filter((f) => f.type === "SYSTEM" && f.headers.topic === topic);
  }
}

const clients: Client[] = [];
async function connect(fake: FakeDingTalk, app: FakeApp = APP, subscriptions = ROBOT_SUB): Promise<Client> {
  const client = await Client.connect(fake, app, subscriptions);
  clients.push(client);
  return client;
}

const started: FakeDingTalk[] = [];
async function start(options: Partial<FakeDingTalkOptions> = {}): Promise<FakeDingTalk> {
  const fake = await startFakeDingTalk({ apps: [APP, OTHER], pingIntervalMs: 0, redeliverAfterMs: 0, disconnectGraceMs: 150, ...options });
  started.push(fake);
  return fake;
}

let fake: FakeDingTalk;
beforeAll(async () => {
  fake = await start();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await until(() => fake.connections().every((c) => c.state === "closed"), "sockets closed");
  fake.reset();
});
afterAll(async () => {
  await Promise.all(started.map((f) => f.close()));
});

describe("connections/open and tickets", () => {
  it("issues a ticket for good credentials and records the subscriptions", async () => {
    const res = await openTicket(fake);
    expect(res.status).toBe(200);
    expect(res.json.endpoint).toBe(`${fake.url.replace("http", "ws")}/connect`);
    expect(typeof res.json.ticket).toBe("string");
    expect(fake.opens).toEqual([
      expect.objectContaining({
        kind: "ticket",
        clientId: APP.clientId,
        subscriptions: ROBOT_SUB,
        ua: "fake-dingtalk-test/1",
        localIp: "127.0.0.1",
      }),
    ]);
  });

  it("refuses wrong credentials with 401 authFailed, and good ones while refusing", async () => {
    const wrong = await openTicket(fake, { ...APP, clientSecret: "nope" });
    expect(wrong.status).toBe(401);
    expect(wrong.json).toMatchObject({ code: "authFailed", requestid: expect.any(String), message: expect.any(String) });
    fake.setRefuseCredentials(true);
    expect((await openTicket(fake)).status).toBe(401);
    fake.setRefuseCredentials(false);
    expect((await openTicket(fake)).status).toBe(200);
    expect(fake.refusedOpens).toBe(2);
  });

  it("answers XML without Accept: application/json, and counts it as the client's mistake", async () => {
    const res = await fetch(`${fake.url}/v1.0/gateway/connections/open`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ clientId: APP.clientId, clientSecret: APP.clientSecret, subscriptions: ROBOT_SUB }),
    });
    expect(res.headers.get("content-type")).toContain("xml");
    expect(await res.text()).toContain("<ticket>");
    expect(fake.violations).toHaveLength(1);
  });

  it("a ticket opens one socket only; unknown tickets are refused before the upgrade", async () => {
    const { json } = await openTicket(fake);
    const url = `${json.endpoint}?ticket=${encodeURIComponent(json.ticket)}`;
    clients.push(await Client.connectTo(url));
    await expect(Client.connectTo(url)).rejects.toThrow("HTTP 401");
    await expect(Client.connectTo(`${json.endpoint}?ticket=made-up`)).rejects.toThrow("HTTP 401");
    expect(fake.refusedUpgrades.map((r) => r.reason)).toEqual(["ticket already used", "unknown ticket"]);
    expect(fake.opens.map((o) => o.kind)).toEqual(["ticket", "socket"]);
  });

  it("an expired ticket is refused", async () => {
    const quick = await start({ ticketTtlMs: 50 });
    const { json } = await openTicket(quick);
    await sleep(80);
    await expect(Client.connectTo(`${json.endpoint}?ticket=${json.ticket}`)).rejects.toThrow("HTTP 401");
    expect(quick.refusedUpgrades[0]?.reason).toBe("ticket expired");
  });
});

describe("Stream frames", () => {
  it("pings carry an opaque value; an echo is recorded, a wrong echo is a violation", async () => {
    const client = await connect(fake);
    const [id] = fake.sendPing();
    const ping = await until(() => client.system("ping")[0], "ping");
    expect(ping).toMatchObject({ specVersion: "1.0", type: "SYSTEM", headers: { topic: "ping", contentType: "application/json" } });
    expect(JSON.parse(ping.data)).toEqual({ opaque: expect.any(String) });
    await until(() => fake.pings[0]?.echoed, "echo");
    expect(fake.connections()[0]?.lastAckAt).not.toBeNull();
    expect(fake.violations).toEqual([]);

    client.ackPings = false;
    fake.sendPing(id);
    const second = await until(() => client.system("ping")[1], "second ping");
    client.ack(second, JSON.stringify({ opaque: "something else" }));
    await until(() => fake.violations.length === 1, "violation");
    expect(fake.pings[1]?.echoed).toBe(false);
  });

  it("routes each robot message to exactly one of two connections, never both", async () => {
    const a = await connect(fake);
    const b = await connect(fake);
    const sent = Array.from({ length: 20 }, () => fake.sendRobotMessage(sampleRobotMessage({ msgtype: "text" })));
    await until(() => sent.every((s) => fake.acked(s.msgId)), "all acked");
    const got = [...a.callbacks(), ...b.callbacks()].map((f) => (JSON.parse(f.data) as { msgId: string }).msgId);
    expect(got.sort()).toEqual(sent.map((s) => s.msgId).sort());
    expect(a.callbacks().length).toBeGreaterThan(0);
    expect(b.callbacks().length).toBeGreaterThan(0);
    const frame = a.callbacks()[0]!;
    expect(frame.headers).toMatchObject({ topic: ROBOT_TOPIC, appId: APP.clientId, contentType: "application/json" });
    expect(fake.connections().map((c) => c.id)).toContain(frame.headers.connectionId);
    expect(fake.deliveries.every((d) => d.ackBody !== null && d.ackedAt !== null)).toBe(true);
    expect(fake.unackedMsgIds()).toEqual([]);
    expect(fake.violations).toEqual([]);
  });

  it("passes the payload through byte for byte as the frame's data string", async () => {
    const client = await connect(fake);
    const data = { ...sampleRobotMessage({ msgtype: "audio" }), someFutureKey: { nested: [1, "二"] } };
    fake.sendRobotMessage(data);
    const frame = await until(() => client.callbacks()[0], "callback");
    expect(frame.data).toBe(JSON.stringify(data));
  });

  it("redelivers an unacked message with the same msgId and a new messageId", async () => {
    const slow = await start({ redeliverAfterMs: 100, maxRedeliveries: 2 });
    const client = await connect(slow);
    client.ackCallbacks = false;
    const { msgId, messageId } = slow.sendRobotMessage(sampleRobotMessage());
    const [first, second] = await until(() => client.callbacks().length >= 2 && client.callbacks(), "redelivery");
    expect(first!.headers.messageId).toBe(messageId);
    expect(second!.headers.messageId).not.toBe(messageId);
    expect(JSON.parse(second!.data).msgId).toBe(msgId);
    expect(slow.acked(msgId)).toBe(false);
    client.ack(second!, JSON.stringify({ response: null }));
    await until(() => slow.acked(msgId), "ack");
    await sleep(250);
    expect(client.callbacks()).toHaveLength(2);
    expect(slow.deliveries.map((d) => d.attempt)).toEqual([1, 2]);
    expect(slow.violations).toEqual([]);
  });

  it("gives up after maxRedeliveries", async () => {
    const slow = await start({ redeliverAfterMs: 40, maxRedeliveries: 2 });
    const client = await connect(slow);
    client.ackCallbacks = false;
    const { msgId } = slow.sendRobotMessage(sampleRobotMessage());
    await until(() => client.callbacks().length === 3, "three deliveries");
    await sleep(150);
    expect(client.callbacks()).toHaveLength(3);
    expect(slow.unackedMsgIds()).toEqual([msgId]);
  });

  it("disconnect: stops routing at once, closes after the grace", async () => {
    const old = await connect(fake);
    const fresh = await connect(fake);
    const oldId = fake.connections().find((c) => c.state === "open")!.id;
    fake.sendDisconnect(oldId);
    const frame = await until(() => old.system("disconnect")[0], "disconnect frame");
    expect(JSON.parse(frame.data)).toEqual({ reason: expect.any(String) });
    expect(fake.connections().find((c) => c.id === oldId)?.state).toBe("draining");
    for (let i = 0; i < 5; i++) expect(fake.sendRobotMessage(sampleRobotMessage()).routedTo).not.toBe(oldId);
    await until(() => fresh.callbacks().length === 5, "messages on the new socket");
    expect((await old.closed).code).toBe(1000);
    expect(fake.connections().find((c) => c.id === oldId)?.state).toBe("closed");
    expect(old.callbacks()).toHaveLength(0);
  });

  it("drop ends the socket without a close frame; closeAll ends every one", async () => {
    const a = await connect(fake);
    fake.drop();
    expect((await a.closed).code).toBe(1006);
    const b = await connect(fake);
    const c = await connect(fake);
    fake.closeAll();
    await Promise.all([b.closed, c.closed]);
    expect(fake.connections().every((x) => x.state === "closed")).toBe(true);
  });

  it("queues messages while no socket is routable and delivers them to the next one", async () => {
    const { routedTo, msgId } = fake.sendRobotMessage(sampleRobotMessage());
    expect(routedTo).toBeNull();
    expect(fake.undeliveredMsgIds()).toEqual([msgId]);
    // A socket that did not subscribe to the robot topic is never given robot messages.
    const deaf = await connect(fake, APP, [{ type: "EVENT", topic: "*" }]);
    await sleep(50);
    expect(deaf.callbacks()).toHaveLength(0);
    const client = await connect(fake);
    await until(() => fake.acked(msgId), "delivery on connect");
    expect(client.callbacks()).toHaveLength(1);
  });

  it("stuck: connected, pings flowing, nothing routed until unstuck", async () => {
    const client = await connect(fake);
    fake.setStuck(true);
    const { routedTo, msgId } = fake.sendRobotMessage(sampleRobotMessage());
    expect(routedTo).toBeNull();
    fake.sendPing();
    await until(() => fake.pings[0]?.echoed, "ping while stuck");
    await sleep(50);
    expect(client.callbacks()).toHaveLength(0);
    fake.setStuck(false);
    await until(() => fake.acked(msgId), "delivery after unstuck");
  });

  it("routes by app", async () => {
    const one = await connect(fake);
    const two = await connect(fake, OTHER);
    fake.sendRobotMessage(sampleRobotMessage(), { clientId: OTHER.clientId });
    await until(() => two.callbacks().length === 1, "delivery to app 2");
    expect(one.callbacks()).toHaveLength(0);
    expect(two.callbacks()[0]!.headers.appId).toBe(OTHER.clientId);
  });

  it("records protocol violations: not JSON, unknown messageId, bad code, duplicate ack, bad data", async () => {
    const client = await connect(fake);
    client.ackCallbacks = false;
    fake.sendRobotMessage(sampleRobotMessage());
    const frame = await until(() => client.callbacks()[0], "callback");
    client.ws.send("not json");
    client.ack({ ...frame, headers: { ...frame.headers, messageId: "nope" } }, "{}");
    client.ack(frame, JSON.stringify({ response: null }), 500);
    client.ack(frame, JSON.stringify({ response: null }));
    client.ws.send(JSON.stringify({ code: 200, headers: { messageId: "x" }, message: "OK", data: { response: null } }));
    await until(() => fake.violations.length >= 5, "violations");
    expect(fake.violations.join("\n")).toMatch(
      /not JSON[\s\S]*unknown messageId nope[\s\S]*ack code 500[\s\S]*duplicate ack[\s\S]*unknown messageId x/,
    );
    expect(fake.acked(JSON.parse(frame.data).msgId)).toBe(false);
  });

  it("sends raw frames; an ack of one that carried a messageId is not a violation", async () => {
    const client = await connect(fake);
    const sentTo = fake.sendRawFrame("{ half a frame");
    fake.sendRawFrame({ type: "CALLBACK", headers: { topic: ROBOT_TOPIC, messageId: "raw-1" }, data: "{}" });
    expect(sentTo).toHaveLength(1);
    await until(() => client.raw.length === 2, "raw frames");
    expect(client.raw[0]).toBe("{ half a frame");
    // The client acks the second one as a robot callback.
    await until(() => fake.clientFrames.length === 1, "ack");
    await sleep(20);
    expect(fake.violations).toEqual([]);
  });

  it("pings every open socket on its interval", async () => {
    const pinging = await start({ pingIntervalMs: 40 });
    const client = await connect(pinging);
    await until(() => client.system("ping").length >= 2, "interval pings");
    await until(() => pinging.pings.filter((p) => p.echoed).length >= 2, "echoed pings");
    expect(pinging.pings.every((p) => p.echoed !== false)).toBe(true);
  });
});

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
