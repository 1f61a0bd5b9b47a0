// The framing inside an event ciphertext: 16 random bytes, a 4-byte big-endian length, the UTF-8
// message, then the owner key (corpId, suiteKey or the app's Client ID).

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export interface EventEnvelope {
  message: string;
  ownerKey: string;
}

export function openEnvelope(plain: Uint8Array): EventEnvelope | null {
  if (plain.length < 20) return null;
  const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
  const length = view.getUint32(16);
  if (20 + length > plain.length) return null;
  try {
    return {
      message: decoder.decode(plain.subarray(20, 20 + length)),
      ownerKey: decoder.decode(plain.subarray(20 + length)),
    };
  } catch {
    return null;
  }
}

export function sealEnvelope(
  message: string,
  ownerKey: string,
  random: Uint8Array = crypto.getRandomValues(new Uint8Array(16)),
): Uint8Array<ArrayBuffer> {
  const body = encoder.encode(message);
  const owner = encoder.encode(ownerKey);
  const out = new Uint8Array(20 + body.length + owner.length);
  out.set(random.subarray(0, 16));
  new DataView(out.buffer).setUint32(16, body.length);
  out.set(body, 20);
  out.set(owner, 20 + body.length);
  return out;
}
