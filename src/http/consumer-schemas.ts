// The bodies and queries of the consumer API. Unknown keys are refused, so a typo is an error
// rather than a silently ignored option.
import { z } from "zod";

const HOUR = 3_600_000;

export const consumerId = z
  .string()
  .regex(/^[A-Za-z0-9._:@-]{1,128}$/, "must be 1-128 letters, digits or . _ : @ -");
const leaseMs = z.number().int().min(1_000).max(12 * HOUR);
const leaseIds = z.array(z.string().min(1).max(128)).min(1).max(100);

export const pullSchema = z
  .strictObject({
    max: z.number().int().min(0).max(100).default(10),
    waitMs: z.number().int().min(0).max(25_000).default(0),
    leaseMs: leaseMs.optional(),
    consumer: consumerId.optional(),
    release: z.boolean().default(false),
  })
  .refine((p) => !p.release || p.consumer !== undefined, {
    message: "release needs the consumer id whose leases to return",
    path: ["release"],
  })
  .refine((p) => p.max > 0 || p.release, {
    message: "must be 1-100; 0 only with release: true (hand back what this consumer holds, lease nothing)",
    path: ["max"],
  });

export const ackSchema = z.strictObject({ leaseIds });

export const nackSchema = z.strictObject({
  leaseIds,
  delayMs: z.number().int().min(0).max(24 * HOUR).default(0),
  reason: z.string().max(500).default("nacked by the consumer"),
});

export const extendSchema = z.strictObject({ leaseIds, leaseMs });

export const heartbeatSchema = z.strictObject({
  consumer: consumerId,
  stream: z
    .strictObject({
      connected: z.boolean(),
      lastMessageAt: z.number().int().min(0).max(8.64e15).optional(),
      reconnects: z.array(z.number().int().min(0).max(8.64e15)).max(100).optional(),
      msgIds: z.array(z.string().min(1).max(256)).max(500).optional(),
    })
    .optional(),
});

export const pageQuerySchema = z.strictObject({
  afterSeq: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const eventIds = z.array(z.string().min(1).max(128)).min(1).max(1000);

export const redriveSchema = z.strictObject({ ids: eventIds.optional() });

/** Deleting is never the default: name the ids, or say all. */
export const purgeSchema = z
  .strictObject({ ids: eventIds.optional(), all: z.literal(true).optional() })
  .refine((p) => (p.ids === undefined) !== (p.all === undefined), {
    message: "name the dead letters to delete with ids, or send all: true (not both)",
    path: ["ids"],
  });

const textMessage = z.strictObject({
  msgtype: z.literal("text"),
  text: z.strictObject({ content: z.string().min(1).max(20_000) }),
});
const markdownMessage = z.strictObject({
  msgtype: z.literal("markdown"),
  markdown: z.strictObject({ title: z.string().min(1).max(200), text: z.string().min(1).max(20_000) }),
});

export const sendKey = z.string().regex(/^[\x21-\x7e]{1,128}$/, "must be 1-128 printable ASCII characters without spaces");

export const sendSchema = z
  .strictObject({
    replyTo: z.string().min(1).max(128).optional(),
    to: z
      .union([
        z.strictObject({ openConversationId: z.string().min(1).max(256) }),
        z.strictObject({ userIds: z.array(z.string().min(1).max(256)).min(1).max(20) }),
      ])
      .optional(),
    message: z.discriminatedUnion("msgtype", [textMessage, markdownMessage]),
    key: sendKey.optional(),
  })
  .refine((s) => (s.replyTo === undefined) !== (s.to === undefined), {
    message: "give exactly one of replyTo (an event id) and to ({openConversationId} or {userIds})",
    path: ["replyTo"],
  });
