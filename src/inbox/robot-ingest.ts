// A robot message as the inbox takes it, whichever path brought it: the dedup key is the same on
// both, so a message that arrives over HTTP and over Stream is stored once.
import type { RobotMessage } from "../dingtalk/robot-message";
import type { EventSource } from "./event-store";
import type { IngestRequest } from "./types";

export function robotIngestRequest(app: string, source: EventSource, text: string, message: RobotMessage): IngestRequest {
  return {
    app,
    kind: "robot",
    source,
    dedupKey: `robot:${message.msgId}`,
    payload: text,
    conversationId: message.conversationId ?? null,
    msgId: message.msgId,
  };
}
