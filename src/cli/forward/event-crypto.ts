// The app's event keys, as `dtbridge forward` holds them, over the bridge's own sealing code
// (src/dingtalk/event-seal.ts): the same AES, framing and signature DingTalk uses.
import { type EventCipherKey, eventCipherKey } from "../../dingtalk/event-cipher";
import { openSealed, type SealedEvent, sealEvent as seal } from "../../dingtalk/event-seal";

export interface EventKeys {
  cipher: EventCipherKey;
  token: string;
  ownerKey: string;
}

/** The keys for an app's event pushes; null when the AES key is malformed. */
export async function eventKeys(aesKey: string, token: string, ownerKey: string): Promise<EventKeys | null> {
  const cipher = await eventCipherKey(aesKey);
  return cipher ? { cipher, token, ownerKey } : null;
}

/** A message sealed, encrypted and signed as DingTalk sends it (and as it wants answers). */
export function sealEvent(keys: EventKeys, message: string, nowMs = Date.now()): Promise<SealedEvent> {
  return seal(keys.cipher, keys.token, keys.ownerKey, message, nowMs);
}

/** The message inside an encrypted text, or null when it does not decrypt under these keys. */
export async function openEvent(keys: EventKeys, encrypt: string): Promise<string | null> {
  const envelope = await openSealed(keys.cipher, encrypt.replace(/\s+/g, ""));
  return envelope?.ownerKey === keys.ownerKey ? envelope.message : null;
}
