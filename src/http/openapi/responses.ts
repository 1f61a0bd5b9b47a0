// The consumer API's answers, as zod schemas, for the OpenAPI document only (the Worker builds its
// answers itself and never imports this file). A test validates live answers against them.
import * as z from "../../lib/zod";

const ms = z.number();
const msOrNull = z.nullable(ms);
const strOrNull = z.nullable(z.string());
const mode = z.enum(["unknown", "webhook", "stream"]);

export const errorAnswer = z.object({
  error: z.looseObject({ code: z.string(), message: z.string() }),
});

const eventCommon = {
  id: z.string(),
  seq: z.int(),
  kind: z.enum(["robot", "event"]),
  source: z.enum(["webhook", "stream"]),
  dedupKey: z.string(),
  receivedAt: ms,
  attempt: z.int(),
  /** The conversation (or conversation and sender) whose events go out in order to one consumer at a time. */
  orderingKey: strOrNull,
  /** For a replayed delivery: the id of the event it replays. */
  replayOf: z.optional(z.string()),
  payload: z.looseObject({}),
};

export const leasedEvent = z.object({ ...eventCommon, leaseId: z.string(), leaseExpiresAt: ms });

export const storedEvent = z.object({
  ...eventCommon,
  state: z.enum(["ready", "leased", "acked", "dead", "suppressed"]),
  lastReason: strOrNull,
  doneAt: msOrNull,
});

export const pullAnswer = z.object({
  events: z.array(leasedEvent),
  mode,
  pollHintMs: z.int(),
  released: z.int(),
  leaseMs: z.int(),
});

export const ackAnswer = z.object({ acked: z.array(z.string()), stale: z.array(z.string()) });
export const nackAnswer = z.object({ requeued: z.array(z.string()), deadLettered: z.array(z.string()), stale: z.array(z.string()) });
export const extendAnswer = z.object({ extended: z.array(z.string()), leaseExpiresAt: ms, stale: z.array(z.string()) });
export const heartbeatAnswer = z.object({ suppressed: z.int(), mode, pollHintMs: z.int() });
export const pageAnswer = z.object({ events: z.array(storedEvent), nextAfterSeq: z.int() });
export const redriveAnswer = z.object({ redriven: z.int() });
export const replayAnswer = z.object({ replayed: z.int(), skipped: z.int(), nextFromSeq: z.nullable(z.int()) });
export const purgeAnswer = z.object({ purged: z.int() });

export const sendFate = z.object({
  key: z.string(),
  state: z.enum(["queued", "sent", "refused", "failed", "cancelled"]),
  via: z.nullable(z.enum(["sessionWebhook", "robotApi"])),
  attempts: z.int(),
  lastError: strOrNull,
  dingtalkCode: strOrNull,
  dingtalkMessage: strOrNull,
  createdAt: ms,
  sentAt: msOrNull,
  retryAt: msOrNull,
});

export const outboxAnswer = z.object({ sends: z.array(sendFate) });
export const cancelAnswer = z.object({ cancelled: z.array(z.string()), notQueued: z.array(z.string()) });

const check = z.object({ ok: z.boolean(), detail: z.string() });
export const diagnoseAnswer = z.object({ accessToken: check, robotPermission: check, alertSink: z.nullable(check) });

export const sendSent = z.object({ state: z.literal("sent"), via: z.enum(["sessionWebhook", "robotApi"]), key: z.string() });
export const sendQueued = z.object({ state: z.literal("queued"), key: z.string(), retryAt: msOrNull });

export const linkStatus = z.looseObject({
  state: z.enum(["off", "connecting", "open", "backoff", "refused"]),
  connectedAt: msOrNull,
  lastFrameAt: msOrNull,
  lastMessageAt: msOrNull,
  opens: z.array(ms),
  lastError: strOrNull,
});

export const statusAnswer = z.object({
  app: z.string(),
  now: ms,
  mode,
  pollHintMs: z.int(),
  consumers: z.object({
    state: z.enum(["attached", "detached"]),
    lastSeenAt: msOrNull,
    list: z.array(z.object({ id: z.string(), lastSeenAt: ms, stream: z.nullable(z.looseObject({ connected: z.boolean() })) })),
  }),
  routing: z.enum(["ok", "suspected_stuck"]),
  depth: z.int(),
  ready: z.int(),
  leased: z.int(),
  deadLetters: z.int(),
  ordering: z.enum(["conversation", "sender", "off"]),
  orderingKeysHeld: z.int(),
  oldestReadyAgeMs: msOrNull,
  oldestUndeliveredAgeMs: msOrNull,
  robotUrl: strOrNull,
  lastCallbackAt: msOrNull,
  lastPullAt: msOrNull,
  lastStreamMessageAt: msOrNull,
  stream: z.object({ connected: z.nullable(z.boolean()), recentReconnects: z.array(ms) }),
  incidents: z.array(z.object({ incident: z.string(), since: ms })),
  retention: z.object({ retentionMs: ms, pastRetention: z.boolean() }),
  storage: z.object({ bytes: z.int(), alertAtBytes: z.int(), limitBytes: z.int() }),
  outbox: z.object({ queued: z.int(), oldestQueuedAgeMs: msOrNull, resentAfterCrash: z.int(), recent: z.array(sendFate) }),
  transitions: z.array(
    z.object({
      at: ms,
      subject: z.enum(["mode", "consumers", "routing", "link", "replay"]),
      from: z.string(),
      to: z.string(),
      reason: z.string(),
    }),
  ),
  alerts: z.array(
    z.object({
      at: ms,
      incident: z.string(),
      phase: z.enum(["open", "resolved"]),
      title: z.string(),
      delivery: z.enum(["pending", "sent", "gave_up", "no_sink"]),
      attempts: z.int(),
      sentAt: msOrNull,
      lastError: strOrNull,
    }),
  ),
  counters: z.catchall(z.object({ rejected: z.record(z.string(), z.int()) }), z.int()),
  config: z.object({ problems: z.array(z.object({ setting: z.string(), problem: z.string() })) }),
  dingtalkApi: z.object({ month: z.string(), thisMonth: z.int(), thisMinute: z.int(), previousMinute: z.int(), monthlyQuota: z.int() }),
  nextAlarmAt: msOrNull,
  link: linkStatus,
  /** What the token that asked may do. */
  token: z.object({ scopes: z.array(z.enum(["drain", "send", "read", "admin"])) }),
});

export const healthAnswer = z.object({
  ok: z.boolean(),
  apps: z.record(
    z.string(),
    z.object({ config: z.enum(["ok", "broken"]), inbox: z.optional(z.enum(["ok", "unreachable"])), link: z.optional(z.string()) }),
  ),
  settingsFellBack: z.int(),
});

/** 503: no app can take messages; with no readable configuration at all, only that. */
export const healthFailedAnswer = z.union([
  healthAnswer,
  z.object({ ok: z.literal(false), checks: z.object({ config: z.literal("failed") }) }),
]);

export const indexAnswer = z.object({ name: z.string(), routes: z.array(z.string()) });

export const robotCallbackAnswer = z.union([
  z.object({ msgtype: z.literal("empty") }),
  z.object({ msgtype: z.literal("text"), text: z.object({ content: z.string() }) }),
]);

export const eventPushAnswer = z.object({ msg_signature: z.string(), timeStamp: z.string(), nonce: z.string(), encrypt: z.string() });
