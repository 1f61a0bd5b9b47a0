// The fake DingTalk's Stream side (tickets, frames, routing), driven by a small real Stream client over 127.0.0.1 sockets.
import { describe, expect, it } from "vitest";
import { sampleRobotMessage } from "../../src/dingtalk/sample-messages.ts";
import { ROBOT_TOPIC } from "../harness/fake-dingtalk/index.ts";
import {
  APP,
  Client,
  clients,
  connect,
  fake,
  OTHER,
  openTicket,
  ROBOT_SUB,
  sleep,
  start,
  until,
  useFake,
} from "../harness/stream-test-client.ts";

useFake();

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
