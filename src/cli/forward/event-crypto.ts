// DingTalk's event encryption (docs/dingtalk-protocol.md §2) on Node's crypto: AES-256-CBC with
// the key's first 16 bytes as IV and PKCS#7 padding to 32-byte blocks, which Node pads and strips
// directly when told not to pad itself. The framing and the signature are the bridge's own.
import { createCipheriv, createDecipheriv } from "node:crypto";
import { openEnvelope, sealEnvelope } from "../../dingtalk/event-envelope";
import { eventSignature } from "../../dingtalk/event-signature";
import { randomAlphanumeric } from "../../lib/ids";

const PAD_BLOCK = 32;

export interface EventKeys {
  key: Buffer;
  token: string;
  ownerKey: string;
}

/** `base64decode(aes_key + "=")`, 32 bytes; null when the key is malformed. */
export function eventAesKey(aesKey: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]{43}$/.test(aesKey)) return null;
  const key = Buffer.from(`${aesKey}=`, "base64");
  return key.length === 32 ? key : null;
}

export interface SealedEvent {
  msg_signature: string;
  timeStamp: string;
  nonce: string;
  encrypt: string;
}

/** A message sealed, encrypted and signed as DingTalk sends it (and as it wants answers). */
export async function sealEvent(keys: EventKeys, message: string, nowMs = Date.now()): Promise<SealedEvent> {
  const plain = Buffer.from(sealEnvelope(message, keys.ownerKey));
  const pad = PAD_BLOCK - (plain.length % PAD_BLOCK);
  const cipher = createCipheriv("aes-256-cbc", keys.key, keys.key.subarray(0, 16)).setAutoPadding(false);
  const encrypt = Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]).toString("base64");
  const timeStamp = String(nowMs);
  const nonce = randomAlphanumeric(8);
  return { msg_signature: await eventSignature(keys.token, timeStamp, nonce, encrypt), timeStamp, nonce, encrypt };
}

/** The message inside an encrypted text, or null when it does not decrypt under these keys. */
export function openEvent(keys: EventKeys, encrypt: string): string | null {
  const data = Buffer.from(encrypt.replace(/\s+/g, ""), "base64");
  if (data.length === 0 || data.length % PAD_BLOCK !== 0) return null;
  let padded: Buffer;
  try {
    const decipher = createDecipheriv("aes-256-cbc", keys.key, keys.key.subarray(0, 16)).setAutoPadding(false);
    padded = Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    return null;
  }
  const pad = padded[padded.length - 1]!;
  if (pad < 1 || pad > PAD_BLOCK || !padded.subarray(padded.length - pad).every((b) => b === pad)) return null;
  return openEnvelope(padded.subarray(0, padded.length - pad))?.message ?? null;
}
