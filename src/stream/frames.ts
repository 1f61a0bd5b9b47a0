// DingTalk Stream frames (docs/dingtalk-protocol.md §3): reading what the server sends, and
// building the acks it expects. Pure: no sockets here.

import { isRecord, parseJsonOrNull } from "../lib/json";

export const ROBOT_TOPIC = "/v1.0/im/bot/messages/get";

export interface StreamFrame {
  type: string;
  topic: string;
  messageId: string;
  /** The frame's `data`: a JSON string by the protocol, kept as text. */
  data: string;
}

/**
 * What the link does with a frame. `ping` and the other SYSTEM frames (DingTalk's SDKs also know
 * CONNECTED, REGISTERED and KEEPALIVE) are control frames: acked by echoing their data, stored nowhere.
 */
export type FrameKind = "ping" | "disconnect" | "robot" | "event" | "other";

/**
 * Reads one frame leniently: some frames omit `specVersion`, and `data` may arrive as an object.
 * Null when the text is not a frame at all (not JSON, or no messageId to ack it by).
 */
export function parseFrame(text: string): StreamFrame | null {
  const value = parseJsonOrNull(text);
  if (!isRecord(value) || !isRecord(value.headers)) return null;
  const { messageId, topic } = value.headers;
  if (typeof messageId !== "string" || messageId === "") return null;
  const data = typeof value.data === "string" ? value.data : value.data === undefined ? "" : JSON.stringify(value.data);
  return {
    type: typeof value.type === "string" ? value.type : "",
    topic: typeof topic === "string" ? topic : "",
    messageId,
    data,
  };
}

export function frameKind(frame: StreamFrame): FrameKind {
  if (frame.type === "SYSTEM") return frame.topic === "disconnect" ? "disconnect" : "ping";
  if (frame.type === "CALLBACK" && frame.topic === ROBOT_TOPIC) return "robot";
  if (frame.type === "EVENT") return "event";
  return "other";
}

function ack(frame: StreamFrame, data: string): string {
  return JSON.stringify({
    code: 200,
    headers: { contentType: "application/json", messageId: frame.messageId },
    message: "OK",
    data,
  });
}

/** A ping is answered by echoing its data. */
export function pingAck(frame: StreamFrame): string {
  return ack(frame, frame.data);
}

/** A robot CALLBACK (or any other callback) is answered with no reply of its own. */
export function callbackAck(frame: StreamFrame): string {
  return ack(frame, JSON.stringify({ response: null }));
}

/** An EVENT wants a status: SUCCESS once the bridge has kept it. */
export function eventAck(frame: StreamFrame): string {
  return ack(frame, JSON.stringify({ status: "SUCCESS", message: "kept by the bridge" }));
}

/** The ack a frame of this kind gets; null for frames that get none (disconnect). */
export function ackFor(frame: StreamFrame, kind: FrameKind): string | null {
  if (kind === "ping") return pingAck(frame);
  if (kind === "disconnect") return null;
  if (kind === "event") return eventAck(frame);
  return callbackAck(frame);
}

/** A frame that could not be read, as the dead letter that keeps it. */
export function unreadableFrame(text: string): StreamFrame {
  return { type: "", topic: "", messageId: "", data: text };
}
