// Event push signature (docs/dingtalk-protocol.md §2):
// lower-case hex SHA1 of the plain lexicographic sort of [token, timestamp, nonce, encrypt], joined.
import { constantTimeEqual } from "../lib/constant-time";
import { digestHex } from "../lib/digest";

const encoder = new TextEncoder();

export async function eventSignature(token: string, timestamp: string, nonce: string, encrypt: string): Promise<string> {
  const joined = [token, timestamp, nonce, encrypt].sort().join("");
  return digestHex("SHA-1", joined);
}

/** Compares in constant time over the digest; both sides are public-length hex. */
export async function checkEventSignature(
  expectedInputs: { token: string; timestamp: string; nonce: string; encrypt: string },
  given: string,
): Promise<boolean> {
  const expected = await eventSignature(expectedInputs.token, expectedInputs.timestamp, expectedInputs.nonce, expectedInputs.encrypt);
  return constantTimeEqual(encoder.encode(expected), encoder.encode(given.toLowerCase()));
}
