// What dtbridge forward makes of an HTTP-mode bot's answer: no reply, a reply the bridge can send,
// or one it cannot (said, never sent).
import { describe, expect, it } from "vitest";
import { readInlineAnswer } from "../../src/cli/forward/inline-answer";

describe("readInlineAnswer", () => {
  it("reads no reply from an empty body, {} and msgtype empty", () => {
    for (const body of ["", "  \n", "{}", '{"msgtype":"empty"}']) expect(readInlineAnswer(body)).toEqual({ kind: "none" });
  });

  it("reads text and markdown replies, naming what the bridge leaves out", () => {
    expect(readInlineAnswer('{"msgtype":"text","text":{"content":"hi 你好"},"at":{"isAtAll":true}}')).toEqual({
      kind: "reply",
      message: { msgtype: "text", text: { content: "hi 你好" } },
      dropped: ["at"],
    });
    expect(readInlineAnswer('{"msgtype":"markdown","markdown":{"title":"T","text":"**x**"}}')).toEqual({
      kind: "reply",
      message: { msgtype: "markdown", markdown: { title: "T", text: "**x**" } },
      dropped: [],
    });
  });

  it("says why an answer cannot be sent", () => {
    expect(readInlineAnswer("OK")).toEqual({ kind: "unsendable", why: "the answer is not JSON" });
    expect(readInlineAnswer("[1]")).toEqual({ kind: "unsendable", why: "the answer is not a JSON object" });
    expect(readInlineAnswer('{"text":{"content":"x"}}')).toEqual({ kind: "unsendable", why: "the answer has no msgtype" });
    expect(readInlineAnswer('{"msgtype":"text","text":{}}')).toEqual({ kind: "unsendable", why: "the text answer has no content" });
    expect(readInlineAnswer('{"msgtype":"actionCard","actionCard":{}}')).toEqual({
      kind: "unsendable",
      why: "the bridge sends text and markdown, not actionCard",
    });
  });
});
