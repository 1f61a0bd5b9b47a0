// A robot message as the inbox takes it, whichever path brought it: the dedup key is the same on
// both, so a message that arrives over HTTP and over Stream is stored once.
import type { RobotMessage } from "../dingtalk/robot-message";
import type { EventSource } from "./event-row";
import type { IngestRequest } from "./types";

export function robotIngestRequest(source: EventSource, text: string, message: RobotMessage): IngestRequest {
  return {
    kind: "robot",
    source,
    dedupKey: `robot:${message.msgId}`,
    payload: text,
    conversationId: message.conversationId || null,
    sender: message.senderStaffId || message.senderId || null,
    msgId: message.msgId,
  };
}
