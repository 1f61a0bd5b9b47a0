// The robot callback signature (docs/dingtalk-protocol.md §1):
// sign = base64(HMAC-SHA256(key = appSecret, message = timestamp + "\n" + appSecret)).
import { base64ToBytes, bytesToBase64 } from "../lib/base64";

const encoder = new TextEncoder();
const keyCache = new Map<string, Promise<CryptoKey>>();

/** HMAC keys are imported once per secret per isolate, not once per callback. */
function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keyCache.set(secret, key);
  }
  return key;
}

export async function robotSign(secret: string, timestamp: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(`${timestamp}\n${secret}`));
  return bytesToBase64(new Uint8Array(mac));
}

export type RobotSignCheck =
  | { ok: true; timestampMs: number }
  | { ok: false; code: "missing_signature" | "bad_timestamp" | "stale_timestamp" | "bad_signature"; message: string };

export interface RobotSignInput {
  secret: string;
  timestamp: string | null | undefined;
  sign: string | null | undefined;
  nowMs: number;
  /** How old a timestamp may be. */
  windowMs: number;
  /** How far ahead of now a timestamp may be: clock skew only, so a pre-signed pair cannot wait long. */
  futureSkewMs: number;
}

/** Checks the headers of one callback; the HMAC comparison is WebCrypto's verify, constant time. */
export async function checkRobotSign(input: RobotSignInput): Promise<RobotSignCheck> {
  const { timestamp, sign } = input;
  if (!timestamp || !sign) {
    return { ok: false, code: "missing_signature", message: "the timestamp and sign headers are both required" };
  }
  if (!/^\d{1,16}$/.test(timestamp)) {
    return { ok: false, code: "bad_timestamp", message: "the timestamp header must be milliseconds since the epoch" };
  }
  const timestampMs = Number(timestamp);
  if (input.nowMs - timestampMs > input.windowMs) {
    return { ok: false, code: "stale_timestamp", message: `the timestamp is more than ${input.windowMs} ms old` };
  }
  const ahead = Math.min(input.futureSkewMs, input.windowMs);
  if (timestampMs - input.nowMs > ahead) {
    return { ok: false, code: "stale_timestamp", message: `the timestamp is more than ${ahead} ms ahead of the bridge's clock` };
  }
  // DingTalk sends the sign as plain base64; tolerate a URL-encoded copy, which some proxies produce.
  const candidates = sign.includes("%") ? [sign, safeDecodeURIComponent(sign)] : [sign];
  const key = await hmacKey(input.secret);
  const message = encoder.encode(`${timestamp}\n${input.secret}`);
  for (const candidate of candidates) {
    const mac = candidate === null ? null : base64ToBytes(candidate);
    if (mac && mac.length === 32 && (await crypto.subtle.verify("HMAC", key, mac, message))) {
      return { ok: true, timestampMs };
    }
  }
  return { ok: false, code: "bad_signature", message: "the sign header does not match the app's client secret" };
}

function safeDecodeURIComponent(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}
