// AES-256-CBC with DingTalk's 32-byte PKCS#7 padding, on WebCrypto (docs/dingtalk-protocol.md §2).
// WebCrypto insists on 16-byte PKCS#7, so decryption appends one block that decrypts to a full
// 16-byte pad, and encryption pads to 32 itself and drops the block WebCrypto adds.
import { base64ToBytes, bytesToBase64 } from "../lib/base64";

const BLOCK = 16;
const PAD_BLOCK = 32;

export interface EventCipherKey {
  key: CryptoKey;
  iv: Uint8Array<ArrayBuffer>;
}

const keyCache = new Map<string, Promise<EventCipherKey | null>>();

/** `base64decode(aes_key + "=")`: 32 bytes, IV = its first 16. Null when the key is malformed. */
export function eventCipherKey(aesKey: string): Promise<EventCipherKey | null> {
  let cached = keyCache.get(aesKey);
  if (!cached) {
    cached = importEventKey(aesKey);
    keyCache.set(aesKey, cached);
  }
  return cached;
}

async function importEventKey(aesKey: string): Promise<EventCipherKey | null> {
  const raw = aesKey.length === 43 ? base64ToBytes(`${aesKey}=`) : null;
  if (raw?.length !== 32) return null;
  const key = await crypto.subtle.importKey("raw", raw, { name: "AES-CBC" }, false, ["encrypt", "decrypt"]);
  return { key, iv: raw.slice(0, BLOCK) };
}

export async function decryptEvent(cipher: EventCipherKey, encrypted: string): Promise<Uint8Array | null> {
  const data = base64ToBytes(encrypted);
  if (!data || data.length === 0 || data.length % PAD_BLOCK !== 0) return null;
  const lastBlock = data.subarray(data.length - BLOCK);
  const filler = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-CBC", iv: lastBlock }, cipher.key, new Uint8Array(0)));
  const extended = new Uint8Array(data.length + BLOCK);
  extended.set(data);
  extended.set(filler, data.length);
  let padded: Uint8Array;
  try {
    padded = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-CBC", iv: cipher.iv }, cipher.key, extended));
  } catch {
    return null;
  }
  return stripPadding(padded);
}

export async function encryptEvent(cipher: EventCipherKey, plain: Uint8Array): Promise<string> {
  const pad = PAD_BLOCK - (plain.length % PAD_BLOCK);
  const padded = new Uint8Array(plain.length + pad);
  padded.set(plain);
  padded.fill(pad, plain.length);
  const out = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-CBC", iv: cipher.iv }, cipher.key, padded));
  return bytesToBase64(out.subarray(0, padded.length));
}

function stripPadding(padded: Uint8Array): Uint8Array | null {
  const pad = padded[padded.length - 1];
  if (pad === undefined || pad < 1 || pad > PAD_BLOCK || pad > padded.length) return null;
  for (let i = padded.length - pad; i < padded.length; i++) if (padded[i] !== pad) return null;
  return padded.subarray(0, padded.length - pad);
}
