// Seeded generators of hostile input for the fuzz tests: wrong types, extreme numbers, bad base64,
// unicode edge cases, duplicated keys, deep nesting. Seeded, so a failure replays exactly.

export class Rng {
  constructor(private state: number) {}
  next(): number {
    // mulberry32
    this.state += 0x6d2b79f5;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

const STRINGS = [
  "",
  " ",
  "\u0000",
  "\ud800",
  "\udfff",
  "💥".repeat(50),
  "‮rtl",
  "a".repeat(5000),
  "%00%ff",
  "../../etc/passwd",
  "'; DROP TABLE events; --",
  "null",
  "NaN",
  "__proto__",
  "msgMxpQ+qegFQ4MpgOyu0UFrQ==",
  "=?utf-8?",
];
// biome-ignore lint/correctness/noPrecisionLoss: 2^53 + 3 on purpose, a number JSON cannot carry exactly
const NUMBERS = [0, -1, -0, 1e308, -1e308, 2 ** 53 + 1, 1.5, 0.0001, 25_001, 101, 9_007_199_254_740_993];

export function hostileValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 3 ? 6 : 9)) {
    case 0:
      return rng.pick(STRINGS);
    case 1:
      return rng.pick(NUMBERS);
    case 2:
      return rng.pick([true, false, null]);
    case 3:
      return rng.pick(["not base64!", "AAAA", "=", btoa("x".repeat(rng.int(100)))]);
    case 4:
      return String(rng.int(1e6));
    case 5:
      return rng.pick(STRINGS).slice(0, rng.int(10));
    case 6:
      return Array.from({ length: rng.int(4) }, () => hostileValue(rng, depth + 1));
    case 7: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--)
        o[
          rng.pick([
            "msgId",
            "msgtype",
            "text",
            "content",
            "leaseIds",
            "max",
            "waitMs",
            "consumer",
            "stream",
            "__proto__",
            "constructor",
            rng.pick(STRINGS),
          ])
        ] = hostileValue(rng, depth + 1);
      return o;
    }
    default:
      return deepNest(rng.int(200));
  }
}

/** An object nested `depth` deep. */
export function deepNest(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

/** Takes a valid body and breaks one thing about it. */
export function mutate(rng: Rng, valid: Record<string, unknown>): string {
  const keys = Object.keys(valid);
  switch (rng.int(8)) {
    case 0: {
      const copy = { ...valid };
      copy[rng.pick(keys)] = hostileValue(rng);
      return JSON.stringify(copy);
    }
    case 1: {
      const copy = { ...valid };
      delete copy[rng.pick(keys)];
      return JSON.stringify(copy);
    }
    case 2: {
      const text = JSON.stringify(valid);
      return text.slice(0, rng.int(text.length));
    }
    case 3: {
      // A duplicated key whose second value is hostile: JSON.parse keeps the last one.
      const key = rng.pick(keys);
      return `${JSON.stringify(valid).slice(0, -1)},${JSON.stringify(key)}:${JSON.stringify(hostileValue(rng))}}`;
    }
    case 4:
      return JSON.stringify(hostileValue(rng));
    case 5:
      return `${"[".repeat(rng.int(5000))}${"]".repeat(rng.int(5000))}`;
    case 6: {
      const copy = { ...valid };
      copy[rng.pick(STRINGS)] = deepNest(rng.int(3000));
      return JSON.stringify(copy);
    }
    default:
      return rng.pick(["", "null", "[]", "{", "\u0000", '{"a":}', "1e999999", '"str"', "\ufeff{}"]);
  }
}

const BAD_UTF8 = [[0xff], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf]];

/** The UTF-8 of `text` with something no UTF-8 decoder may accept spliced in, or a BOM in front. */
export function breakBytes(rng: Rng, text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  const bad = rng.int(5) === 0 ? [0xef, 0xbb, 0xbf] : rng.pick(BAD_UTF8);
  const at = bad[0] === 0xef ? 0 : rng.int(bytes.length + 1);
  const out = new Uint8Array(bytes.length + bad.length);
  out.set(bytes.subarray(0, at));
  out.set(bad, at);
  out.set(bytes.subarray(at), at + bad.length);
  return out;
}
