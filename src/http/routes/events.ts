// POST /dingtalk/:app/events: the encrypted event subscription push (dingtalk-protocol.md section 2).
import { Hono } from "hono";
import { decryptEvent, eventCipherKey } from "../../dingtalk/event-cipher";
import { openEnvelope } from "../../dingtalk/event-envelope";
import {
  CHECK_URL,
  decryptedEventSchema,
  eventPushAgeMs,
  eventPushBodySchema,
  readEventPushQuery,
} from "../../dingtalk/event-push";
import { eventSuccessReply } from "../../dingtalk/event-reply";
import { checkEventSignature } from "../../dingtalk/event-signature";
import type { BridgeEnv } from "../context";
import { BridgeError } from "../errors";
import { inboxFor } from "../inbox-stub";
import { limitBody, MAX_CALLBACK_BYTES, resolveApp } from "../middleware";
import { parseWith, readJsonText } from "../read-json";

export const eventRoutes = new Hono<BridgeEnv>();

eventRoutes.post("/dingtalk/:app/events", resolveApp, limitBody(MAX_CALLBACK_BYTES), async (c) => {
  const app = c.get("app");
  const events = app.events;
  if (!events) throw new BridgeError(404, "events_not_configured", `app "${app.name}" has no event token and AES key`);
  const cipher = await eventCipherKey(events.aesKey);
  if (!cipher) throw new BridgeError(404, "events_not_configured", `app "${app.name}" has a malformed event AES key`);

  const query = readEventPushQuery((name) => c.req.query(name));
  if (!query) {
    throw new BridgeError(401, "missing_signature", "msg_signature (or signature), timestamp (or timeStamp) and nonce are required");
  }
  const { value } = await readJsonText(c);
  const { encrypt } = parseWith(eventPushBodySchema, value, "invalid_body");
  const signed = await checkEventSignature({ token: events.token, ...query, encrypt }, query.signature);
  if (!signed) throw new BridgeError(401, "bad_signature", "msg_signature does not match the app's event token");
  checkAge(query.timestamp, c.get("config").tunables.eventMaxAgeMs);

  const plain = await decryptEvent(cipher, encrypt);
  const envelope = plain && openEnvelope(plain);
  if (!envelope) throw new BridgeError(400, "bad_ciphertext", "encrypt does not decrypt with the app's event AES key");
  if (envelope.ownerKey !== events.ownerKey) {
    throw new BridgeError(
      401,
      "owner_key_mismatch",
      `the event is for owner key "${envelope.ownerKey.slice(0, 64)}" but this app expects "${events.ownerKey}" ` +
        "(the Client ID, or DINGTALK_EVENT_OWNER_KEY / eventOwnerKey for a corpId or suiteKey)",
    );
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(envelope.message);
  } catch {
    throw new BridgeError(400, "invalid_event", "the decrypted event is not JSON");
  }
  const event = parseWith(decryptedEventSchema, decoded, "invalid_event");
  if (event.EventType !== CHECK_URL) {
    if (!event.eventId) throw new BridgeError(400, "invalid_event", "eventId: the decrypted event has no eventId");
    await inboxFor(c, app.name).ingest({
      app: app.name,
      kind: "event",
      dedupKey: `event:${event.eventId}`,
      payload: envelope.message,
      conversationId: null,
      msgId: null,
    });
  }
  return c.json(await eventSuccessReply(cipher, events.token, events.ownerKey, Date.now()));
});

/** The optional age window (EVENT_MAX_AGE_MS); off unless configured. */
function checkAge(timestamp: string, maxAgeMs: number | undefined): void {
  if (maxAgeMs === undefined) return;
  const age = eventPushAgeMs(timestamp, Date.now());
  if (age === null) throw new BridgeError(401, "bad_timestamp", "the timestamp is not a number");
  if (age > maxAgeMs) {
    throw new BridgeError(401, "stale_timestamp", `the push is more than ${maxAgeMs} ms away from now (EVENT_MAX_AGE_MS)`);
  }
}
