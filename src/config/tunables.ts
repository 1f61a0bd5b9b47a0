// The tunables of the contract, with their documented defaults. Vars arrive as strings or numbers.
import * as z from "../lib/zod";

const HOUR = 3_600_000;
const int = (min: number, max: number) => z.coerce.number().check(z.int(), z.minimum(min), z.maximum(max));
const ms = (fallback: number) => z._default(int(0, 365 * 24 * HOUR), fallback);
const count = (fallback: number) => z._default(int(1, 1000), fallback);
const optionalText = z.catch(z.optional(z.string().check(z.trim(), z.minLength(1))), undefined);
const httpUrl = z.url({ protocol: /^https?$/ });

/** How far ahead of the bridge's clock a robot callback's timestamp may be: clock skew, no more. */
export const SIGN_FUTURE_SKEW_MS = 5 * 60_000;
/** The SQLite-backed Durable Object's storage limit per object. */
export const STORAGE_LIMIT_BYTES = 10 * 1024 ** 3;

export const tunablesSchema = z
  .object({
    SIGN_WINDOW_MS: ms(HOUR),
    RETENTION_DAYS: z._default(z.coerce.number().check(z.minimum(0.0001), z.maximum(3650)), 7),
    LEASE_MS: z._default(int(1000, 12 * HOUR), 60_000),
    MAX_ATTEMPTS: count(10),
    WEBHOOK_SILENCE_MS: ms(120_000),
    CONSUMER_SILENCE_MS: z._default(
      z.coerce
        .number()
        .check(
          z.int(),
          z.minimum(1000, "must be at least 1000: consumers would count as gone between two pulls"),
          z.maximum(365 * 24 * HOUR),
        ),
      60_000,
    ),
    STALL_RESTARTS: count(3),
    STALL_WINDOW_MS: ms(600_000),
    STALL_SILENCE_MS: ms(600_000),
    /** By default the retention: a replayed push must not outlive the dedup key that stops it. */
    EVENT_MAX_AGE_MS: z.optional(int(1, Number.MAX_SAFE_INTEGER)),
    OFFLINE_REPLY_TEXT: optionalText,
    ALERT_WEBHOOK_URL: z.optional(httpUrl),
    ALERT_WEBHOOK_SECRET: optionalText,
    STORAGE_ALERT_BYTES: z._default(int(1, STORAGE_LIMIT_BYTES), STORAGE_LIMIT_BYTES / 2),
  })
  .check(
    // A swept dedup key must not let a request that is still valid in again.
    z.refine((v) => v.RETENTION_DAYS * 24 * HOUR >= v.SIGN_WINDOW_MS, {
      message: "is shorter than SIGN_WINDOW_MS: a callback could be accepted again after its dedup key is swept",
      path: ["RETENTION_DAYS"],
    }),
    z.refine((v) => v.EVENT_MAX_AGE_MS === undefined || v.EVENT_MAX_AGE_MS <= v.RETENTION_DAYS * 24 * HOUR, {
      message: "is longer than RETENTION_DAYS: a push could be accepted again after its dedup key is swept",
      path: ["EVENT_MAX_AGE_MS"],
    }),
  );

export type TunableVars = z.infer<typeof tunablesSchema>;

export interface Tunables {
  signWindowMs: number;
  retentionMs: number;
  leaseMs: number;
  maxAttempts: number;
  webhookSilenceMs: number;
  consumerSilenceMs: number;
  stallRestarts: number;
  stallWindowMs: number;
  stallSilenceMs: number;
  eventMaxAgeMs: number;
  offlineReplyText: string | undefined;
  alertWebhookUrl: string | undefined;
  alertWebhookSecret: string | undefined;
  storageAlertBytes: number;
}

export function toTunables(v: TunableVars): Tunables {
  const retentionMs = Math.round(v.RETENTION_DAYS * 24 * HOUR);
  return {
    signWindowMs: v.SIGN_WINDOW_MS,
    retentionMs,
    leaseMs: v.LEASE_MS,
    maxAttempts: v.MAX_ATTEMPTS,
    webhookSilenceMs: v.WEBHOOK_SILENCE_MS,
    consumerSilenceMs: v.CONSUMER_SILENCE_MS,
    stallRestarts: v.STALL_RESTARTS,
    stallWindowMs: v.STALL_WINDOW_MS,
    stallSilenceMs: v.STALL_SILENCE_MS,
    eventMaxAgeMs: v.EVENT_MAX_AGE_MS ?? retentionMs,
    offlineReplyText: v.OFFLINE_REPLY_TEXT,
    alertWebhookUrl: v.ALERT_WEBHOOK_URL,
    alertWebhookSecret: v.ALERT_WEBHOOK_SECRET,
    storageAlertBytes: v.STORAGE_ALERT_BYTES,
  };
}
