// The encrypted event push: query parameters in both documented spellings, and the decrypted event.
import { z } from "zod";

export interface EventPushQuery {
  signature: string;
  timestamp: string;
  nonce: string;
}

/** Older documents say `signature`/`timeStamp`, newer ones `msg_signature`/`timestamp`: take all four. */
export function readEventPushQuery(query: (name: string) => string | undefined): EventPushQuery | null {
  const signature = query("msg_signature") ?? query("signature");
  const timestamp = query("timestamp") ?? query("timeStamp");
  const nonce = query("nonce");
  if (!signature || !timestamp || !nonce) return null;
  return { signature, timestamp, nonce };
}

export const eventPushBodySchema = z.object({ encrypt: z.string().min(1) });

export const decryptedEventSchema = z.looseObject({
  EventType: z.string().min(1),
  eventId: z.string().min(1).max(256).optional(),
});

export const CHECK_URL = "check_url";

/**
 * How far a push's timestamp is from now, either way. DingTalk sends seconds in some pushes and
 * milliseconds in others, so values below 10^11 are read as seconds. Null when not a number.
 */
export function eventPushAgeMs(timestamp: string, nowMs: number): number | null {
  if (!/^\d{1,16}$/.test(timestamp)) return null;
  const n = Number(timestamp);
  return Math.abs(nowMs - (n < 1e11 ? n * 1000 : n));
}
