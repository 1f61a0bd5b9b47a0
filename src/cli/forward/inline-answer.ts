// What an HTTP-mode bot answered DingTalk: nothing, or an inline reply that DingTalk would have
// posted into the conversation. The bridge sends text and markdown; any other kind is named, not sent.
import type { OutMessage } from "../../client/types";

export type InlineAnswer =
  | { kind: "none" }
  | { kind: "reply"; message: OutMessage /** Keys of the answer the bridge cannot send (such as `at`). */; dropped: string[] }
  | { kind: "unsendable"; why: string };

export function readInlineAnswer(body: string): InlineAnswer {
  if (body.trim() === "") return { kind: "none" };
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { kind: "unsendable", why: "the answer is not JSON" };
  }
  if (!isRecord(value)) return { kind: "unsendable", why: "the answer is not a JSON object" };
  const { msgtype } = value;
  if (msgtype === undefined && Object.keys(value).length === 0) return { kind: "none" };
  if (msgtype === "empty") return { kind: "none" };
  const dropped = Object.keys(value).filter((k) => k !== "msgtype" && k !== msgtype);
  if (msgtype === "text" && isRecord(value.text) && typeof value.text.content === "string" && value.text.content !== "") {
    return { kind: "reply", message: { msgtype: "text", text: { content: value.text.content } }, dropped };
  }
  const md = value.markdown;
  if (msgtype === "markdown" && isRecord(md) && typeof md.title === "string" && typeof md.text === "string" && md.text !== "") {
    return { kind: "reply", message: { msgtype: "markdown", markdown: { title: md.title, text: md.text } }, dropped };
  }
  if (typeof msgtype !== "string") return { kind: "unsendable", why: "the answer has no msgtype" };
  if (msgtype === "text" || msgtype === "markdown") return { kind: "unsendable", why: `the ${msgtype} answer has no content` };
  return { kind: "unsendable", why: `the bridge sends text and markdown, not ${msgtype.slice(0, 40)}` };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
