// The tunables of the contract, with their documented defaults. Vars arrive as strings or numbers.
import { z } from "zod";

const HOUR = 3_600_000;
const ms = (fallback: number) => z.coerce.number().int().min(0).max(365 * 24 * HOUR).default(fallback);
const count = (fallback: number) => z.coerce.number().int().min(1).max(1000).default(fallback);
const optionalText = z.string().trim().min(1).optional().catch(undefined);

/** How far ahead of the bridge's clock a robot callback's timestamp may be: clock skew, no more. */
export const SIGN_FUTURE_SKEW_MS = 5 * 60_000;
/** The SQLite-backed Durable Object's storage limit per object. */
export const STORAGE_LIMIT_BYTES = 10 * 1024 ** 3;

export const tunablesSchema = z
  .object({
    SIGN_WINDOW_MS: ms(HOUR),
    RETENTION_DAYS: z.coerce.number().min(0.0001).max(3650).default(7),
    LEASE_MS: z.coerce.number().int().min(1000).max(12 * HOUR).default(60_000),
    MAX_ATTEMPTS: count(10),
    WEBHOOK_SILENCE_MS: ms(120_000),
    CONSUMER_SILENCE_MS: ms(60_000).pipe(z.number().min(1000, "must be at least 1000: consumers would count as gone between two pulls")),
    STALL_RESTARTS: count(3),
    STALL_WINDOW_MS: ms(600_000),
    STALL_SILENCE_MS: ms(600_000),
    /** By default the retention: a replayed push must not outlive the dedup key that stops it. */
    EVENT_MAX_AGE_MS: z.coerce.number().int().min(1).optional(),
    OFFLINE_REPLY_TEXT: optionalText,
    ALERT_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
    ALERT_WEBHOOK_SECRET: optionalText,
    STORAGE_ALERT_BYTES: z.coerce.number().int().min(1).max(STORAGE_LIMIT_BYTES).default(STORAGE_LIMIT_BYTES / 2),
  })
  // A swept dedup key must not let a request that is still valid in again.
  .refine((v) => v.RETENTION_DAYS * 24 * HOUR >= v.SIGN_WINDOW_MS, {
    message: "is shorter than SIGN_WINDOW_MS: a callback could be accepted again after its dedup key is swept",
    path: ["RETENTION_DAYS"],
  })
  .refine((v) => v.EVENT_MAX_AGE_MS === undefined || v.EVENT_MAX_AGE_MS <= v.RETENTION_DAYS * 24 * HOUR, {
    message: "is longer than RETENTION_DAYS: a push could be accepted again after its dedup key is swept",
    path: ["EVENT_MAX_AGE_MS"],
  });

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
