// Random identifiers shaped roughly like DingTalk's, so clients that log or store them see realistic values.
import { randomBytes, randomUUID } from "node:crypto";

/** DingTalk's `requestid`: an upper-case UUID. */
export function requestId(): string {
  return randomUUID().toUpperCase();
}

/** Tickets are UUIDs: the Node SDK appends them to the URL without encoding, so they must survive that. */
export function ticket(): string {
  return randomUUID();
}

export function hexId(bytes = 16): string {
  return randomBytes(bytes).toString("hex");
}

export function accessToken(): string {
  return randomBytes(16).toString("hex");
}

export function opaque(): string {
  return randomUUID();
}
