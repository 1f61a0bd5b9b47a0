// The tunables of the contract, with their documented defaults. Vars arrive as strings or numbers.
import { z } from "zod";

const ms = (fallback: number) => z.coerce.number().int().min(0).max(365 * 24 * 3600_000).default(fallback);
const count = (fallback: number) => z.coerce.number().int().min(1).max(1000).default(fallback);
const optionalText = z.string().trim().min(1).optional().catch(undefined);

export const tunablesSchema = z.object({
  SIGN_WINDOW_MS: ms(3_600_000),
  RETENTION_DAYS: z.coerce.number().min(0.0001).max(3650).default(7),
  LEASE_MS: z.coerce.number().int().min(1000).max(12 * 3600_000).default(60_000),
  MAX_ATTEMPTS: count(10),
  WEBHOOK_SILENCE_MS: ms(120_000),
  CONSUMER_SILENCE_MS: ms(60_000),
  STALL_RESTARTS: count(3),
  STALL_WINDOW_MS: ms(600_000),
  STALL_SILENCE_MS: ms(600_000),
  /** Off unless set: DingTalk documents no age window for event pushes. */
  EVENT_MAX_AGE_MS: z.coerce.number().int().min(1).optional(),
  OFFLINE_REPLY_TEXT: optionalText,
  ALERT_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  ALERT_WEBHOOK_SECRET: optionalText,
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
  eventMaxAgeMs: number | undefined;
  offlineReplyText: string | undefined;
  alertWebhookUrl: string | undefined;
  alertWebhookSecret: string | undefined;
}

export function toTunables(v: TunableVars): Tunables {
  return {
    signWindowMs: v.SIGN_WINDOW_MS,
    retentionMs: Math.round(v.RETENTION_DAYS * 24 * 3600_000),
    leaseMs: v.LEASE_MS,
    maxAttempts: v.MAX_ATTEMPTS,
    webhookSilenceMs: v.WEBHOOK_SILENCE_MS,
    consumerSilenceMs: v.CONSUMER_SILENCE_MS,
    stallRestarts: v.STALL_RESTARTS,
    stallWindowMs: v.STALL_WINDOW_MS,
    stallSilenceMs: v.STALL_SILENCE_MS,
    eventMaxAgeMs: v.EVENT_MAX_AGE_MS,
    offlineReplyText: v.OFFLINE_REPLY_TEXT,
    alertWebhookUrl: v.ALERT_WEBHOOK_URL,
    alertWebhookSecret: v.ALERT_WEBHOOK_SECRET,
  };
}
