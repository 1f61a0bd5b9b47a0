// Sending through the bridge in tests: a message to reply to, stored as DingTalk would send it with
// a session webhook at the fake DingTalk, and the send route's answers.
import { env } from "cloudflare:test";
import { inject } from "vitest";
import { sendCredentials } from "../test-env";
import { consumerFetch, consumerJson } from "./dingtalk";

const MIN = 60_000;

/** A robot message as DingTalk would send it, stored in the app's inbox; answers the event's id. */
export async function storedMessage(app: string, fields: Record<string, unknown>): Promise<string> {
  const msgId = `msg-${crypto.randomUUID()}`;
  const payload = {
    msgId,
    msgtype: "text",
    text: { content: " hi" },
    robotCode: sendCredentials(app).clientId,
    senderStaffId: "staff-42",
    conversationId: "cid-group-1",
    conversationType: "2",
    sessionWebhook: `${inject("fakeDingTalkUrl")}/robot/sendBySession?session=${msgId}`,
    sessionWebhookExpiredTime: Date.now() + 90 * MIN,
    ...fields,
  };
  await ingestRobotMessage(app, payload);
  const { events } = await consumerJson(app, "events?limit=500");
  return events.find((e: any) => e.payload.msgId === msgId).id;
}

/** Stores `payload` in the app's inbox as a robot message that came by HTTP callback. */
export async function ingestRobotMessage(app: string, payload: { msgId: string; conversationId: string } & Record<string, unknown>) {
  await env.INBOX.getByName(app).ingest({
    kind: "robot",
    source: "webhook",
    dedupKey: `robot:${payload.msgId}`,
    payload: JSON.stringify(payload),
    conversationId: payload.conversationId,
    msgId: payload.msgId,
  });
}

export const text = (content: string) => ({ msgtype: "text", text: { content } });

export async function send(app: string, body: Record<string, unknown>) {
  const res = await consumerFetch(app, "send", body);
  return { status: res.status, body: (await res.json()) as any };
}
