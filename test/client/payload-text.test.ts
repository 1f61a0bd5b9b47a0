// payloadText: the exact text of each payload in the bridge's answer, as DingTalk sent it.
import { describe, expect, it } from "vitest";
import { notePayloadTexts, payloadSpans, payloadText } from "../../src/client/payload-text";

describe("payload texts", () => {
  it("finds each event's payload exactly as spliced into the answer", () => {
    const payloads = [
      '{"msgId":"m+/=","n":1.50,"s":"a\\"}\\\\","u":"\\u00e9\u00e9","nested":{"payload":[1,{"x":"]"}]}}',
      '{ "spaced" : [ true , null ] ,"big":12345678901234567890}',
      "{}",
    ];
    const text = `{"mode":"webhook","events":[${payloads
      .map((p, i) => `{"id":"e${i}","payload":${p}}`)
      .join(", ")}],"pollHintMs":0,"payload":{"not":"this"}}`;
    const answer = JSON.parse(text) as { events: object[] };
    notePayloadTexts(answer.events, text);
    expect(answer.events.map((e) => payloadText(e))).toEqual(payloads);
    expect(payloadText({})).toBeUndefined();
  });

  it("finds nothing in a document of another shape, and keeps order with whitespace anywhere", () => {
    expect(payloadSpans('{"events": {}}')).toBeNull();
    expect(payloadSpans("[]")).toBeNull();
    expect(payloadSpans(' { "events" : [ ] } ')).toEqual([]);
    const text = ' {\n "events" : [ { "payload" : "x" } , { "id" : 1 } ] } ';
    expect(payloadSpans(text)?.map((s) => (s ? text.slice(...s) : null))).toEqual(['"x"', null]);
  });
});
