// POST /dingtalk/:app/events: the encrypted event subscription push (docs/dingtalk-protocol.md §2).
import { Hono } from "hono/tiny";
import type { AppConfig } from "../../config/apps";
import { type EventCipherKey, eventCipherKey } from "../../dingtalk/event-cipher";
import {
  type DecryptedEvent,
  decryptedEventSchema,
  eventDedupKey,
  eventPushAgeMs,
  eventPushBodySchema,
  handshakeAnswer,
  isHandshake,
  readEventPushQuery,
  unwrapBase64,
} from "../../dingtalk/event-push";
import { openSealed, sealEvent } from "../../dingtalk/event-seal";
import { checkEventSignature } from "../../dingtalk/event-signature";
import { parseStrictJson } from "../../lib/strict-json";
import type { BridgeEnv } from "../context";
import { HttpError } from "../errors";
import { inboxFor } from "../inbox-stub";
import { limitBody, MAX_CALLBACK_BYTES, reportRejections, resolveApp } from "../middleware";
import { parseWith, readJsonText } from "../read-json";

export const eventRoutes = new Hono<BridgeEnv>();

eventRoutes.post("/dingtalk/:app/events", resolveApp, reportRejections, limitBody(MAX_CALLBACK_BYTES), async (c) => {
  const app = c.get("app");
  const events = app.events;
  if (!events) throw new HttpError(404, "events_not_configured", `app "${app.name}" has no event token and AES key`);
  const cipher = await eventCipherKey(events.aesKey);
  if (!cipher) throw new HttpError(404, "events_not_configured", `app "${app.name}" has a malformed event AES key`);

  const query = readEventPushQuery((name) => c.req.query(name));
  if (!query) {
    throw new HttpError(401, "missing_signature", "msg_signature (or signature), timestamp (or timeStamp) and nonce are required");
  }
  const { value } = await readJsonText(c);
  const { encrypt } = parseWith(eventPushBodySchema, value, "invalid_body");
  const signed = await checkEventSignature({ token: events.token, ...query, encrypt }, query.signature);
  if (!signed) throw new HttpError(401, "bad_signature", "msg_signature does not match the app's event token");

  const { event, message } = await openEvent(app, cipher, unwrapBase64(encrypt));
  if (isHandshake(event)) {
    return c.json(await sealEvent(cipher, events.token, events.ownerKey, handshakeAnswer(event), Date.now()));
  }
  checkAge(query.timestamp, c.get("config").tunables.eventMaxAgeMs);
  await inboxFor(c).ingest({
    kind: "event",
    source: "webhook",
    dedupKey: await eventDedupKey(event, message),
    payload: message,
    conversationId: null,
    msgId: null,
  });
  return c.json(await sealEvent(cipher, events.token, events.ownerKey, "success", Date.now()));
});

/**
 * Decrypts and checks one push. Every failure past the signature answers the same error and echoes
 * nothing decrypted: distinct answers for padding, framing and owner key would let a token holder
 * read a captured push byte by byte.
 */
async function openEvent(app: AppConfig, cipher: EventCipherKey, encrypt: string): Promise<{ event: DecryptedEvent; message: string }> {
  const refused = new HttpError(
    401,
    "bad_event",
    `the push does not decrypt to a JSON event for app "${app.name}": check the event AES key, and the owner key ` +
      "(the Client ID, or DINGTALK_EVENT_OWNER_KEY / eventOwnerKey where DingTalk uses a corpId or suiteKey)",
  );
  const envelope = await openSealed(cipher, encrypt);
  if (!envelope || envelope.ownerKey !== app.events!.ownerKey) throw refused;
  const decoded = parseStrictJson(envelope.message);
  if (!decoded.ok) throw refused;
  const event = decryptedEventSchema.safeParse(decoded.value);
  if (!event.success) throw refused;
  return { event: event.data, message: envelope.message };
}

/** The age window: EVENT_MAX_AGE_MS, by default the retention, so no replay outlives its dedup key. */
function checkAge(timestamp: string, maxAgeMs: number): void {
  const age = eventPushAgeMs(timestamp, Date.now());
  if (age === null) throw new HttpError(401, "bad_timestamp", "the timestamp is not a number");
  if (age > maxAgeMs) {
    throw new HttpError(401, "stale_timestamp", `the push is more than ${maxAgeMs} ms away from now (EVENT_MAX_AGE_MS)`);
  }
}
