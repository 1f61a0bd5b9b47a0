// The bodies and queries of the consumer API. Unknown keys are refused, so a typo is an error
// rather than a silently ignored option.
import * as z from "../lib/zod";

const HOUR = 3_600_000;
const int = (min: number, max: number) => z.int().check(z.minimum(min), z.maximum(max));
const text = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));
const ids = (max: number) => z.array(text(1, 128)).check(z.minLength(1), z.maxLength(max));

export const consumerId = z.string().check(z.regex(/^[A-Za-z0-9._:@-]{1,128}$/, "must be 1-128 letters, digits or . _ : @ -"));
const leaseMs = int(1_000, 12 * HOUR);
const leaseIds = ids(100);
const epochMs = int(0, 8.64e15);

export const pullSchema = z
  .strictObject({
    max: z._default(int(0, 100), 10),
    waitMs: z._default(int(0, 25_000), 0),
    leaseMs: z.optional(leaseMs),
    consumer: z.optional(consumerId),
    release: z._default(z.boolean(), false),
    held: z.optional(z.array(text(1, 128)).check(z.maxLength(1000))),
  })
  .check(
    z.refine((p) => !p.release || p.consumer !== undefined, {
      message: "release needs the consumer id whose leases to return",
      path: ["release"],
    }),
    z.refine((p) => p.held === undefined || p.consumer !== undefined, {
      message: "held needs the consumer id that holds these leases",
      path: ["held"],
    }),
    z.refine((p) => p.max > 0 || p.release || p.held !== undefined, {
      message: "must be 1-100; 0 only with release: true or held (hand back what this consumer holds, lease nothing)",
      path: ["max"],
    }),
  );

export const ackSchema = z.strictObject({ leaseIds });

export const nackSchema = z.strictObject({
  leaseIds,
  delayMs: z._default(int(0, 24 * HOUR), 0),
  reason: z._default(z.string().check(z.maxLength(500)), "nacked by the consumer"),
});

export const extendSchema = z.strictObject({ leaseIds, leaseMs });

export const heartbeatSchema = z.strictObject({
  consumer: consumerId,
  stream: z.optional(
    z.strictObject({
      connected: z.boolean(),
      lastMessageAt: z.optional(epochMs),
      reconnects: z.optional(z.array(epochMs).check(z.maxLength(100))),
      msgIds: z.optional(z.array(text(1, 256)).check(z.maxLength(500))),
    }),
  ),
});

export const pageQuerySchema = z.strictObject({
  afterSeq: z._default(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER)), 0),
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(500)), 100),
});

/** History pages read oldest first, or newest first with order=desc; one conversation, message or sender's. */
export const historyQuerySchema = z.strictObject({
  ...pageQuerySchema.def.shape,
  order: z._default(z.enum(["asc", "desc"], "must be asc or desc"), "asc"),
  conversationId: z.optional(text(1, 256)),
  msgId: z.optional(text(1, 256)),
  sender: z.optional(text(1, 256)),
});

/** Replay by ids, or by a seq range (both ends included), within one conversation if named. */
export const replaySchema = z
  .strictObject({
    ids: z.optional(z.array(text(1, 128)).check(z.minLength(1), z.maxLength(10_000))),
    fromSeq: z.optional(int(0, Number.MAX_SAFE_INTEGER)),
    toSeq: z.optional(int(0, Number.MAX_SAFE_INTEGER)),
    conversationId: z.optional(text(1, 256)),
  })
  .check(
    z.refine((r) => (r.ids === undefined) !== (r.fromSeq === undefined && r.toSeq === undefined && r.conversationId === undefined), {
      message: "give ids, or a range (fromSeq, toSeq, conversationId), not both and not neither",
      path: ["ids"],
    }),
    z.refine((r) => r.fromSeq === undefined || r.toSeq === undefined || r.fromSeq <= r.toSeq, {
      message: "fromSeq must not be after toSeq",
      path: ["fromSeq"],
    }),
  );

export const outboxQuerySchema = z.strictObject({
  state: z.optional(z.enum(["queued", "sent", "refused", "failed", "cancelled"], "must be queued, sent, refused, failed or cancelled")),
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(500)), 100),
});

export const diagnoseSchema = z.strictObject({ sink: z._default(z.boolean(), false) });

export const cancelSchema = z.strictObject({ keys: z.array(text(1, 128)).check(z.minLength(1), z.maxLength(1000)) });

const eventIds = ids(1000);

export const redriveSchema = z.strictObject({ ids: z.optional(eventIds) });

/** Deleting is never the default: name the ids, or say all. */
export const purgeSchema = z.strictObject({ ids: z.optional(eventIds), all: z.optional(z.literal(true)) }).check(
  z.refine((p) => (p.ids === undefined) !== (p.all === undefined), {
    message: "name the dead letters to delete with ids, or send all: true (not both)",
    path: ["ids"],
  }),
);

const textMessage = z.strictObject({ msgtype: z.literal("text"), text: z.strictObject({ content: text(1, 20_000) }) });
const markdownMessage = z.strictObject({
  msgtype: z.literal("markdown"),
  markdown: z.strictObject({ title: text(1, 200), text: text(1, 20_000) }),
});

export const sendKey = z.string().check(z.regex(/^[\x21-\x7e]{1,128}$/, "must be 1-128 printable ASCII characters without spaces"));

export const sendSchema = z
  .strictObject({
    replyTo: z.optional(text(1, 128)),
    to: z.optional(
      z.union([
        z.strictObject({ openConversationId: text(1, 256) }),
        z.strictObject({ userIds: z.array(text(1, 256)).check(z.minLength(1), z.maxLength(20)) }),
      ]),
    ),
    message: z.discriminatedUnion("msgtype", [textMessage, markdownMessage]),
    key: z.optional(sendKey),
  })
  .check(
    z.refine((s) => (s.replyTo === undefined) !== (s.to === undefined), {
      message: "give exactly one of replyTo (an event id) and to ({openConversationId} or {userIds})",
      path: ["replyTo"],
    }),
  );
