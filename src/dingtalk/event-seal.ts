// An event push's sealed form, both ways (docs/dingtalk-protocol.md §2): a message framed with the
// owner key, encrypted and signed (what DingTalk sends, and what it wants back: "success", or a
// suite handshake's Random, with the camel-case timeStamp); and a sealed text opened again.
import { randomAlphanumeric } from "../lib/ids";
import { decryptEvent, type EventCipherKey, encryptEvent } from "./event-cipher";
import { type EventEnvelope, openEnvelope, sealEnvelope } from "./event-envelope";
import { eventSignature } from "./event-signature";

export interface SealedEvent {
  msg_signature: string;
  timeStamp: string;
  nonce: string;
  encrypt: string;
}

export async function sealEvent(
  cipher: EventCipherKey,
  token: string,
  ownerKey: string,
  message: string,
  nowMs: number,
): Promise<SealedEvent> {
  const encrypt = await encryptEvent(cipher, sealEnvelope(message, ownerKey));
  const timeStamp = String(nowMs);
  const nonce = randomAlphanumeric(8);
  return { msg_signature: await eventSignature(token, timeStamp, nonce, encrypt), timeStamp, nonce, encrypt };
}

/** The message and owner key inside an encrypted text; null when it does not decrypt under this key. */
export async function openSealed(cipher: EventCipherKey, encrypt: string): Promise<EventEnvelope | null> {
  const plain = await decryptEvent(cipher, encrypt);
  return plain && openEnvelope(plain);
}
