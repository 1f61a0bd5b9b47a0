import { describe, expect, it } from "vitest";
import { ingestRequestFor } from "../../src/stream/frame-ingest";
import { frameKind, parseFrame, ROBOT_TOPIC, unreadableFrame } from "../../src/stream/frames";

function robotFrame(data: string, topic = ROBOT_TOPIC, type = "CALLBACK") {
  return parseFrame(JSON.stringify({ type, headers: { topic, messageId: "mid-1" }, data }))!;
}

describe("what the link commits for a frame", () => {
  it("a robot message as an HTTP callback would be: same dedup key, the data byte for byte", async () => {
    const data = '{"msgId":"msgA+/=","msgtype":"text","text":{"content":" hi"},"conversationId":"cid","big":12345678901234567890}';
    const f = robotFrame(data);
    expect(await ingestRequestFor(f, frameKind(f))).toEqual({
      kind: "robot",
      source: "stream",
      dedupKey: "robot:msgA+/=",
      payload: data,
      conversationId: "cid",
      sender: null,
      msgId: "msgA+/=",
    });
  });

  it.each([
    ["not JSON", "{nope"],
    ["no msgId", '{"msgtype":"text"}'],
    ["too deep", `{"msgId":"m","msgtype":"text","d":${"[".repeat(80)}${"]".repeat(80)}}`],
  ])("a robot frame that is %s becomes a dead letter with its reason, the data kept as a string", async (_n, data) => {
    const f = robotFrame(data);
    const req = await ingestRequestFor(f, frameKind(f));
    expect(req.deadReason).toMatch(/^not a valid robot message: /);
    expect(req.dedupKey).toMatch(/^frame:[0-9a-f]{64}$/);
    expect(JSON.parse(req.payload).invalidStreamFrame).toMatchObject({ topic: ROBOT_TOPIC, messageId: "mid-1", data, truncated: false });
  });

  it("a frame that cannot be read at all is kept as a dead letter, its text as a string", async () => {
    const req = await ingestRequestFor(unreadableFrame("not json {"), "other");
    expect(req.deadReason).toMatch(/^not a Stream frame/);
    expect(JSON.parse(req.payload).invalidStreamFrame.data).toBe("not json {");
  });

  it("a frame on another topic, or an event, is kept as a dead letter too", async () => {
    const card = robotFrame('{"a":1}', "/v1.0/card/instances/callback");
    expect((await ingestRequestFor(card, frameKind(card))).deadReason).toMatch(/robot messages only/);
    const event = robotFrame('{"a":1}', "*", "EVENT");
    expect(await ingestRequestFor(event, frameKind(event))).toMatchObject({ kind: "event", source: "stream" });
  });
});
