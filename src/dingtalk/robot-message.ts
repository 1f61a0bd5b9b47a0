// The robot callback body (docs/dingtalk-protocol.md §1). Validates what the bridge relies on and
// the documented shapes; every key, listed or not, passes through untouched.
import { type JsonRefusal, parseStrictJson } from "../lib/strict-json";
import * as z from "../lib/zod";
import { describeIssues } from "../lib/zod-issues";

const millis = z.union([z.number(), z.string().check(z.regex(/^\d{1,16}$/))]);
const str = z.optional(z.string());

const atUser = z.looseObject({ dingtalkId: str, staffId: str, unionId: str });

export const robotMessageSchema = z.looseObject({
  msgId: z.string().check(z.minLength(1), z.maxLength(256)),
  msgtype: z.string().check(z.minLength(1), z.maxLength(64)),
  text: z.optional(z.looseObject({ content: z.string() })),
  content: z.optional(z.looseObject({})),
  createAt: z.optional(millis),
  conversationType: str,
  conversationId: z.optional(z.string().check(z.maxLength(256))),
  conversationTitle: str,
  senderId: str,
  senderNick: str,
  senderStaffId: str,
  sessionWebhook: str,
  sessionWebhookExpiredTime: z.optional(millis),
  robotCode: str,
  isAdmin: z.optional(z.boolean()),
  isInAtList: z.optional(z.boolean()),
  atUsers: z.optional(z.array(atUser)),
});

export type RobotMessage = z.infer<typeof robotMessageSchema>;

export type RobotMessageRead =
  | { ok: true; message: RobotMessage }
  | { ok: false; code: JsonRefusal["code"] | "invalid_body"; message: string };

/** Reads a robot message from its JSON text, whichever path brought it; never throws. */
export function readRobotMessage(text: string): RobotMessageRead {
  const json = parseStrictJson(text);
  if (!json.ok) return json;
  const parsed = robotMessageSchema.safeParse(json.value);
  if (!parsed.success) return { ok: false, code: "invalid_body", message: describeIssues(parsed.error.issues) };
  return { ok: true, message: parsed.data };
}
