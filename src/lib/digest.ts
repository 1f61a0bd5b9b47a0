import { bytesToHex } from "./base64";

const encoder = new TextEncoder();

/** The lower-case hex digest of a text's UTF-8 bytes. */
export async function digestHex(algorithm: "SHA-1" | "SHA-256", text: string): Promise<string> {
  return bytesToHex(new Uint8Array(await crypto.subtle.digest(algorithm, encoder.encode(text))));
}
