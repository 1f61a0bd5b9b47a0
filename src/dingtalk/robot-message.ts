// The robot callback body (dingtalk-protocol.md section 1). Validates what the bridge relies on and
// the documented shapes; every key, listed or not, passes through untouched.
import { z } from "zod";

const millis = z.union([z.number().finite(), z.string().regex(/^\d{1,16}$/)]);

const atUser = z.looseObject({
  dingtalkId: z.string().optional(),
  staffId: z.string().optional(),
  unionId: z.string().optional(),
});

export const robotMessageSchema = z.looseObject({
  msgId: z.string().min(1).max(256),
  msgtype: z.string().min(1).max(64),
  text: z.looseObject({ content: z.string() }).optional(),
  content: z.looseObject({}).optional(),
  createAt: millis.optional(),
  conversationType: z.string().optional(),
  conversationId: z.string().max(256).optional(),
  conversationTitle: z.string().optional(),
  senderId: z.string().optional(),
  senderNick: z.string().optional(),
  senderStaffId: z.string().optional(),
  sessionWebhook: z.string().optional(),
  sessionWebhookExpiredTime: millis.optional(),
  robotCode: z.string().optional(),
  isAdmin: z.boolean().optional(),
  isInAtList: z.boolean().optional(),
  atUsers: z.array(atUser).optional(),
});

export type RobotMessage = z.infer<typeof robotMessageSchema>;
