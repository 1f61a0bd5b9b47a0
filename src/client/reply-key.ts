// The default idempotency key of a reply: the event and a hash of the message, so a gateway that
// retries after a crash sends the same key, and the bridge sends the reply once. The Python client
// derives the identical key: "reply:" + event id + ":" + the first 32 hex digits of SHA-256 over the
// message as canonical JSON (keys sorted at every level, no spaces, non-ASCII as is).
import { canonicalJson } from "../lib/canonical-json.js";

export { canonicalJson };

export async function replyKey(eventId: string, message: unknown): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonicalJson(message)));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `reply:${eventId}:${hex.slice(0, 32)}`;
}
