// The encrypted event push: query parameters in both documented spellings, the decrypted event,
// the handshakes, and the key an event is deduplicated on.

import { digestHex } from "../lib/digest";
import * as z from "../lib/zod";

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

export const eventPushBodySchema = z.object({ encrypt: z.string().check(z.minLength(1)) });

export const decryptedEventSchema = z.looseObject({
  EventType: z.string().check(z.minLength(1)),
  eventId: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
  Random: z.optional(z.string()),
});

export type DecryptedEvent = z.infer<typeof decryptedEventSchema>;

/**
 * `check_url`, and the suite handshakes (`check_create_suite_url`, `check_update_suite_url`, ...):
 * answered, never stored.
 */
export function isHandshake(event: DecryptedEvent): boolean {
  return event.EventType.startsWith("check_");
}

/** Suite handshakes want their `Random` back, encrypted; every other push wants "success". */
export function handshakeAnswer(event: DecryptedEvent): string {
  return event.EventType !== "check_url" && event.Random ? event.Random : "success";
}

/** DingTalk's own crypto library wraps base64 every 76 characters; the line breaks are not data. */
export function unwrapBase64(encrypt: string): string {
  return encrypt.replace(/[\r\n\t ]+/g, "");
}

/** `eventId` when the event has one; otherwise a key derived from the decrypted text itself. */
export async function eventDedupKey(event: DecryptedEvent, message: string): Promise<string> {
  if (event.eventId) return `event:${event.eventId}`;
  return `event:sha256:${await digestHex("SHA-256", message)}`;
}

/**
 * How far a push's timestamp is from now, either way. DingTalk sends seconds in some pushes and
 * milliseconds in others, so values below 10^11 are read as seconds. Null when not a number.
 */
export function eventPushAgeMs(timestamp: string, nowMs: number): number | null {
  if (!/^\d{1,16}$/.test(timestamp)) return null;
  const n = Number(timestamp);
  return Math.abs(nowMs - (n < 1e11 ? n * 1000 : n));
}
