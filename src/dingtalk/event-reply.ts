// The answer DingTalk expects to every accepted push, handshake included: the word "success" (or a
// suite handshake's Random), encrypted and signed (note the camel-case timeStamp).
import { randomAlphanumeric } from "../lib/ids";
import { type EventCipherKey, encryptEvent } from "./event-cipher";
import { sealEnvelope } from "./event-envelope";
import { eventSignature } from "./event-signature";

export interface EventReply {
  msg_signature: string;
  timeStamp: string;
  nonce: string;
  encrypt: string;
}

export async function eventReply(
  cipher: EventCipherKey,
  token: string,
  ownerKey: string,
  nowMs: number,
  answer = "success",
): Promise<EventReply> {
  const encrypt = await encryptEvent(cipher, sealEnvelope(answer, ownerKey));
  const timeStamp = String(nowMs);
  const nonce = randomAlphanumeric(8);
  return { msg_signature: await eventSignature(token, timeStamp, nonce, encrypt), timeStamp, nonce, encrypt };
}
