import { describe, expect, it } from "vitest";
import { ackFor, callbackAck, frameKind, parseFrame, pingAck, ROBOT_TOPIC } from "../../src/stream/frames";

const frame = (over: Record<string, unknown> = {}, headers: Record<string, unknown> = {}) =>
  JSON.stringify({
    specVersion: "1.0",
    type: "CALLBACK",
    headers: { topic: ROBOT_TOPIC, messageId: "m-1", contentType: "application/json", time: "1", ...headers },
    data: '{"msgId":"x"}',
    ...over,
  });

describe("Stream frames", () => {
  it("reads a robot callback and answers it with no reply, on the same messageId", () => {
    const f = parseFrame(frame())!;
    expect(frameKind(f)).toBe("robot");
    expect(JSON.parse(callbackAck(f))).toEqual({
      code: 200,
      headers: { contentType: "application/json", messageId: "m-1" },
      message: "OK",
      data: '{"response":null}',
    });
  });

  it("echoes a ping's data exactly", () => {
    const f = parseFrame(frame({ type: "SYSTEM", data: '{"opaque":"abc-123"}' }, { topic: "ping" }))!;
    expect(frameKind(f)).toBe("ping");
    expect(JSON.parse(pingAck(f)).data).toBe('{"opaque":"abc-123"}');
  });

  it("reads disconnect, events and other topics, and gives disconnect no ack", () => {
    const disconnect = parseFrame(frame({ type: "SYSTEM", data: '{"reason":"connection is expired"}' }, { topic: "disconnect" }))!;
    expect(frameKind(disconnect)).toBe("disconnect");
    expect(ackFor(disconnect, "disconnect")).toBeNull();
    const event = parseFrame(frame({ type: "EVENT" }, { topic: "*" }))!;
    expect(frameKind(event)).toBe("event");
    expect(JSON.parse(JSON.parse(ackFor(event, "event")!).data)).toMatchObject({ status: "SUCCESS" });
    expect(frameKind(parseFrame(frame({}, { topic: "/v1.0/card/instances/callback" }))!)).toBe("other");
  });

  it("treats every other SYSTEM frame (CONNECTED, KEEPALIVE, ...) as a control frame, acked by echo, stored nowhere", () => {
    const f = parseFrame(frame({ type: "SYSTEM", data: '{"x":1}' }, { topic: "KEEPALIVE" }))!;
    expect(frameKind(f)).toBe("ping");
    expect(JSON.parse(ackFor(f, "ping")!).data).toBe('{"x":1}');
  });

  it("is lenient: no specVersion, data as an object", () => {
    const f = parseFrame(JSON.stringify({ type: "CALLBACK", headers: { topic: ROBOT_TOPIC, messageId: "m2" }, data: { msgId: "y" } }))!;
    expect(f).toMatchObject({ type: "CALLBACK", messageId: "m2", data: '{"msgId":"y"}' });
  });

  it.each([["not json"], ["[]"], ['{"headers":{}}'], ['{"type":"SYSTEM","headers":{"topic":"ping","messageId":""}}'], ["null"]])(
    "answers null for %s",
    (text) => {
      expect(parseFrame(text)).toBeNull();
    },
  );
});
