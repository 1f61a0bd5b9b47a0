// What the link commits for a frame: a robot message exactly as an HTTP callback would be (same
// validation, same dedup key), or, for anything that is not a valid robot message, a dead letter
// with its reason, so nothing DingTalk sent is dropped unseen.
import { readRobotMessage } from "../dingtalk/robot-message";
import { robotIngestRequest } from "../inbox/robot-ingest";
import type { IngestRequest } from "../inbox/types";
import { digestHex } from "../lib/digest";
import type { FrameKind, StreamFrame } from "./frames";

/** A dead letter keeps at most this much of the frame's data. */
const MAX_KEPT_DATA = 256 * 1024;

export async function ingestRequestFor(frame: StreamFrame, kind: FrameKind): Promise<IngestRequest> {
  if (kind === "robot") {
    const read = readRobotMessage(frame.data);
    return read.ok
      ? robotIngestRequest("stream", frame.data, read.message)
      : deadLetter(frame, `not a valid robot message: ${read.message}`);
  }
  if (frame.messageId === "") return deadLetter(frame, "not a Stream frame: not JSON, or no headers.messageId");
  return deadLetter(
    frame,
    `a ${frame.type || "typeless"} frame on topic "${frame.topic.slice(0, 100)}": the link takes robot messages only`,
  );
}

/** The frame itself, its data as a string: always valid, shallow JSON, whatever the data was. */
async function deadLetter(frame: StreamFrame, reason: string): Promise<IngestRequest> {
  const data = frame.data.slice(0, MAX_KEPT_DATA);
  return {
    kind: frame.type === "EVENT" ? "event" : "robot",
    source: "stream",
    dedupKey: `frame:${await digestHex("SHA-256", `${frame.type}\n${frame.topic}\n${frame.data}`)}`,
    payload: JSON.stringify({
      invalidStreamFrame: {
        type: frame.type,
        topic: frame.topic,
        messageId: frame.messageId,
        data,
        truncated: data.length < frame.data.length,
      },
    }),
    conversationId: null,
    msgId: null,
    deadReason: reason.slice(0, 500),
    deadSource: "link_frame",
  };
}
