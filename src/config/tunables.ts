// The tunables of the contract, with their documented defaults. Vars arrive as strings or numbers;
// each is read on its own (settings.ts), so a malformed one falls back to its default and is reported.
import * as z from "../lib/zod";
import { fallBack, readSettings, type SettingProblem, type SettingSpec } from "./settings";

const HOUR = 3_600_000;
const YEAR = 365 * 24 * HOUR;

/** How far ahead of the bridge's clock a robot callback's timestamp may be: clock skew, no more. */
export const SIGN_FUTURE_SKEW_MS = 5 * 60_000;
/** The SQLite-backed Durable Object's storage limit per object. */
export const STORAGE_LIMIT_BYTES = 10 * 1024 ** 3;

const whole = (min: number, max: number, unit: string, fallback: number): SettingSpec<number> => ({
  schema: z.coerce.number().check(z.int(), z.minimum(min), z.maximum(max)),
  rule: `a whole number of ${unit} from ${min} to ${max}`,
  fallback,
});
const ms = (fallback: number, min = 0, max = YEAR) => whole(min, max, "milliseconds", fallback);
const text: SettingSpec<string | undefined> = {
  schema: z.optional(z.string().check(z.trim(), z.minLength(1))),
  rule: "text",
  fallback: undefined,
};

export const TUNABLES = {
  SIGN_WINDOW_MS: ms(HOUR),
  RETENTION_DAYS: {
    schema: z.coerce.number().check(z.minimum(0.0001), z.maximum(3650)),
    rule: "a number of days from 0.0001 to 3650",
    fallback: 7,
  },
  LEASE_MS: ms(60_000, 1_000, 12 * HOUR),
  MAX_ATTEMPTS: whole(1, 1000, "leases", 10),
  WEBHOOK_SILENCE_MS: ms(120_000),
  // Under a second, consumers would count as gone between two pulls.
  CONSUMER_SILENCE_MS: ms(60_000, 1_000),
  STALL_RESTARTS: whole(1, 1000, "reconnects", 3),
  STALL_WINDOW_MS: ms(600_000),
  STALL_SILENCE_MS: ms(600_000),
  /** By default the retention: a replayed push must not outlive the dedup key that stops it. */
  EVENT_MAX_AGE_MS: { ...ms(0, 1, Number.MAX_SAFE_INTEGER), fallback: undefined } as SettingSpec<number | undefined>,
  BACKLOG_STALL_MS: ms(300_000, 1_000),
  OFFLINE_REPLY_TEXT: text,
  ALERT_WEBHOOK_URL: { schema: z.optional(z.url({ protocol: /^https?$/ })), rule: "an http(s) URL", fallback: undefined } as SettingSpec<
    string | undefined
  >,
  ALERT_WEBHOOK_SECRET: text,
  STORAGE_ALERT_BYTES: whole(1, STORAGE_LIMIT_BYTES, "bytes", STORAGE_LIMIT_BYTES / 2),
  DINGTALK_API_MONTHLY_QUOTA: whole(1, 1_000_000_000, "calls", 5000),
  CALLBACK_REJECTIONS_ALERT: whole(1, 100, "rejected callbacks", 10),
  CALLBACK_REJECTIONS_WINDOW_MS: ms(300_000, 1_000),
} satisfies Record<string, SettingSpec<unknown>>;

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
  backlogStallMs: number;
  offlineReplyText: string | undefined;
  alertWebhookUrl: string | undefined;
  alertWebhookSecret: string | undefined;
  storageAlertBytes: number;
  apiMonthlyQuota: number;
  /** This many callbacks refused within `rejectionsWindowMs` raise callbacks_rejected. */
  rejectionsAlert: number;
  rejectionsWindowMs: number;
}

/** The tunables from the Worker's vars, and every one that fell back to its default. */
export function readTunables(vars: Record<string, unknown>): { tunables: Tunables; problems: SettingProblem[] } {
  const { values: v, problems } = readSettings(TUNABLES, vars);
  // A swept dedup key must not let a request that is still valid in again: both sides of a pair that
  // cannot work together fall back.
  if (v.RETENTION_DAYS * 24 * HOUR < v.SIGN_WINDOW_MS) {
    problems.push(
      fallBack(
        "RETENTION_DAYS",
        "is shorter than SIGN_WINDOW_MS, so a callback could be accepted again after its dedup key is swept",
        TUNABLES.RETENTION_DAYS.fallback,
      ),
    );
    problems.push(fallBack("SIGN_WINDOW_MS", "is longer than RETENTION_DAYS", TUNABLES.SIGN_WINDOW_MS.fallback));
    v.RETENTION_DAYS = TUNABLES.RETENTION_DAYS.fallback;
    v.SIGN_WINDOW_MS = TUNABLES.SIGN_WINDOW_MS.fallback;
  }
  if (v.EVENT_MAX_AGE_MS !== undefined && v.EVENT_MAX_AGE_MS > v.RETENTION_DAYS * 24 * HOUR) {
    problems.push(
      fallBack(
        "EVENT_MAX_AGE_MS",
        "is longer than RETENTION_DAYS, so a push could be accepted again after its dedup key is swept",
        "(the retention)",
      ),
    );
    v.EVENT_MAX_AGE_MS = undefined;
  }
  const retentionMs = Math.round(v.RETENTION_DAYS * 24 * HOUR);
  return {
    problems,
    tunables: {
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
      backlogStallMs: v.BACKLOG_STALL_MS,
      offlineReplyText: v.OFFLINE_REPLY_TEXT,
      alertWebhookUrl: v.ALERT_WEBHOOK_URL,
      alertWebhookSecret: v.ALERT_WEBHOOK_SECRET,
      storageAlertBytes: v.STORAGE_ALERT_BYTES,
      apiMonthlyQuota: v.DINGTALK_API_MONTHLY_QUOTA,
      rejectionsAlert: v.CALLBACK_REJECTIONS_ALERT,
      rejectionsWindowMs: v.CALLBACK_REJECTIONS_WINDOW_MS,
    },
  };
}
