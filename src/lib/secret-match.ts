// Which of several secrets a caller presented, in time that tells nothing of which one matched or
// of any secret's bytes or length: every known secret and the presented one are laid in buffers of
// one width (zero-padded) and compared whole with constantTimeEqual, their lengths folded in after.
// Synchronous: hashing both sides on every compare (as Hono's timingSafeEqual does) cost each
// consumer request about 0.5 ms of CPU.

import { constantTimeEqual } from "./constant-time";

const encoder = new TextEncoder();
/** Bytes compared for every secret, at least: a longer secret widens it. */
const MIN_WIDTH = 512;

export function secretMatcher<T>(entries: readonly T[], secretOf: (entry: T) => string): (given: string) => T | undefined {
  const known = entries.map((e) => encoder.encode(secretOf(e)));
  const width = Math.max(MIN_WIDTH, ...known.map((k) => k.length));
  const padded = known.map((k) => widen(k, width));
  return (given) => {
    const bytes = encoder.encode(given);
    const presented = widen(bytes.subarray(0, width), width);
    let matched: T | undefined;
    // Every secret is compared, so the time taken says nothing of which one matched.
    padded.forEach((secret, i) => {
      const same = constantTimeEqual(secret, presented) && bytes.length === known[i]!.length;
      if (same && matched === undefined) matched = entries[i];
    });
    return matched;
  };
}

function widen(bytes: Uint8Array, width: number): Uint8Array {
  const out = new Uint8Array(width);
  out.set(bytes);
  return out;
}
