// Stream frames: what the server sends, and how a client's ack is read.

import { isObject, parseJson } from "./http-io.ts";
import { hexId } from "./ids.ts";

export const ROBOT_TOPIC = "/v1.0/im/bot/messages/get";

export type FrameType = "SYSTEM" | "EVENT" | "CALLBACK";

export interface DownstreamFrame {
  specVersion: "1.0";
  type: FrameType;
  headers: {
    topic: string;
    messageId: string;
    contentType: "application/json";
    /** Milliseconds as a string, as DingTalk sends it (the Python SDK parses it with int()). */
    time: string;
    appId?: string;
    connectionId?: string;
  };
  /** A JSON string, never an object. */
  data: string;
}

export function newMessageId(): string {
  return `${hexId(4)}_${hexId(3)}_${hexId(8)}`;
}

export function buildFrame(
  type: FrameType,
  topic: string,
  data: string,
  extra: { messageId?: string; appId?: string; connectionId?: string } = {},
): DownstreamFrame {
  return {
    specVersion: "1.0",
    type,
    headers: {
      ...(extra.appId !== undefined ? { appId: extra.appId } : {}),
      ...(extra.connectionId !== undefined ? { connectionId: extra.connectionId } : {}),
      contentType: "application/json",
      messageId: extra.messageId ?? newMessageId(),
      time: String(Date.now()),
      topic,
    },
    data,
  };
}

export interface Ack {
  messageId: string;
  code: unknown;
  /** `data` parsed when it is a JSON string, else as sent. */
  body: unknown;
  /** Why `data` is not what the protocol asks for, if it is not. */
  dataProblem: string | null;
}

/** Reads one client frame as an ack; a string result is the protocol violation it commits. */
export function readAck(frame: unknown): Ack | string {
  if (!isObject(frame)) return "a frame that is not a JSON object";
  const headers = frame.headers;
  if (!isObject(headers) || typeof headers.messageId !== "string") return "a frame without headers.messageId";
  const data = frame.data;
  if (typeof data !== "string") {
    return { messageId: headers.messageId, code: frame.code, body: data, dataProblem: "ack data is not a string" };
  }
  const parsed = parseJson(data);
  if (!parsed.ok) return { messageId: headers.messageId, code: frame.code, body: data, dataProblem: "ack data is not JSON" };
  return { messageId: headers.messageId, code: frame.code, body: parsed.value, dataProblem: null };
}
