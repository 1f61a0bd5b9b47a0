// The benchmark's DingTalk side: signed robot callbacks, signed ahead of time so the client's HMAC
// work is not counted as the bridge's, and loops that post as fast as they are answered.
import { robotSign } from "../src/dingtalk/robot-sign";

const SECRET = "local-dev-client-secret";

/** Sends as many requests as `concurrency` loops manage in `ms`; answers requests per second. */
export async function load(ms: number, concurrency: number, send: () => Promise<number>): Promise<{ rps: number; failed: number }> {
  const end = Date.now() + ms;
  let ok = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) (await send()) === 200 ? ok++ : failed++;
    }),
  );
  return { rps: ok / ((performance.now() - started) / 1000), failed };
}

/**
 * Signed headers, one signature per callback (the bridge takes a signature for one message only),
 * made ahead of each phase. Timestamps count up from ten minutes ago, well inside the signature window.
 */
const signed: Record<string, string>[] = [];
let lastTimestamp = 0;
export async function signAhead(n: number): Promise<void> {
  signed.length = 0;
  lastTimestamp = Math.max(Date.now() - 600_000, lastTimestamp + 1);
  for (let i = 0; i < n; i++) {
    const timestamp = String(lastTimestamp++);
    signed.push({ "content-type": "application/json", timestamp, sign: await robotSign(SECRET, timestamp) });
  }
  signed.reverse();
}

export function signedHeaders(): Record<string, string> {
  const headers = signed.pop();
  if (!headers) throw new Error("ran out of signed headers: sign more ahead");
  return headers;
}

/** POSTs and reads the whole answer; the status, or 0 when there was none. */
export async function post(url: string, headers: Record<string, string>, body: string): Promise<number> {
  try {
    const res = await fetch(url, { method: "POST", headers, body });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}
