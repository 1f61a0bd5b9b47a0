// Which way a send goes: its paths, tried in order. A reply goes by the message's session webhook while it has more than five
// minutes left, else by the robot API (group or one-to-one, from the stored message); a proactive
// send goes by the robot API. Pure.
import { allowedSessionWebhook, type RobotTarget } from "../dingtalk/robot-send";

export const SESSION_WEBHOOK_MARGIN_MS = 5 * 60_000;

export type SendPath = { via: "sessionWebhook"; url: string } | { via: "robotApi"; robotCode: string; target: RobotTarget };

/** The paths to try in order (a refused session webhook falls back to the robot API), or why there is none. */
export function replyPaths(
  payload: Record<string, unknown>,
  now: number,
  apiBase: string,
  clientId: string,
): { paths: SendPath[] } | { error: string } {
  const paths: SendPath[] = [];
  const webhook = allowedSessionWebhook(payload.sessionWebhook, apiBase);
  const expires = Number(payload.sessionWebhookExpiredTime);
  if (webhook && Number.isFinite(expires) && expires - now > SESSION_WEBHOOK_MARGIN_MS) paths.push({ via: "sessionWebhook", url: webhook });
  const robotCode = typeof payload.robotCode === "string" && payload.robotCode ? payload.robotCode : clientId;
  const conversationId = typeof payload.conversationId === "string" ? payload.conversationId : "";
  const staffId = typeof payload.senderStaffId === "string" ? payload.senderStaffId : "";
  if (payload.conversationType === "2" && conversationId)
    paths.push({ via: "robotApi", robotCode, target: { openConversationId: conversationId } });
  else if (payload.conversationType === "1" && staffId) paths.push({ via: "robotApi", robotCode, target: { userIds: [staffId] } });
  if (paths.length) return { paths };
  return {
    error:
      payload.conversationType === "1" && !staffId
        ? "the sender has no staffId (a user outside the organisation) and the message's session webhook has expired: DingTalk offers no other way to reply"
        : "the message has no usable session webhook and no conversation to send to through the robot API",
  };
}

export function directPath(to: RobotTarget, clientId: string): SendPath {
  return { via: "robotApi", robotCode: clientId, target: to };
}
