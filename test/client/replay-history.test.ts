// The client's replay and history filters: the requests it makes (the routes answer on the bridge).
import { describe, expect, it } from "vitest";
import { BridgeClient } from "../../src/client/bridge-client";
import { payloadText } from "../../src/client/payload-text";

function recording(answer: string) {
  const calls: { url: string; method: string; body: unknown }[] = [];
  const client = new BridgeClient({
    url: "http://bridge.test/",
    token: "t",
    app: "a b",
    consumer: "gw",
    fetch: async (input, init) => {
      calls.push({ url: String(input), method: init?.method ?? "GET", body: init?.body ? JSON.parse(String(init.body)) : undefined });
      return new Response(answer, { status: 200, headers: { "content-type": "application/json" } });
    },
  });
  return { client, calls };
}

describe("client.replay and client.history", () => {
  it("replays by ids or by a seq range of one conversation", async () => {
    const { client, calls } = recording('{"replayed":2,"ids":["x","y"]}');
    expect(await client.replay({ ids: ["e1", "e2"] })).toEqual({ replayed: 2, ids: ["x", "y"] });
    await client.replay({ fromSeq: 10, toSeq: 20, conversationId: "cid+/=" });
    expect(calls).toEqual([
      { url: "http://bridge.test/v1/a%20b/events/replay", method: "POST", body: { ids: ["e1", "e2"] } },
      { url: "http://bridge.test/v1/a%20b/events/replay", method: "POST", body: { fromSeq: 10, toSeq: 20, conversationId: "cid+/=" } },
    ]);
  });

  it("filters history by conversation, message and sender, encoded, and keeps each payload's text", async () => {
    const answer = '{"events":[{"id":"e1","seq":1,"payload":{"msgId":"m+1",  "n":1.50}}],"nextAfterSeq":1}';
    const { client, calls } = recording(answer);
    const page = await client.history(5, 50, { conversationId: "cid+/=", msgId: "m+1", sender: "staff 1" });
    expect(new URL(calls[0]!.url).searchParams.toString()).toBe(
      "afterSeq=5&limit=50&conversationId=cid%2B%2F%3D&msgId=m%2B1&sender=staff+1",
    );
    expect(payloadText(page.events[0]!)).toBe('{"msgId":"m+1",  "n":1.50}');
    await client.history();
    expect(calls[1]!.url).toBe("http://bridge.test/v1/a%20b/events?afterSeq=0&limit=100");
  });
});
