// The benchmark's consumers: the bridge's drain loop and the floor's bare long-poll loop, each
// recording when a message reached it, and the one-message-at-a-time latency probe.
import { BridgeClient } from "../src/client/bridge-client";
import { drain } from "../src/client/drain";
import { sampleRobotMessage } from "../src/dingtalk/sample-messages";

const TOKEN = "local-dev-consumer-token";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A consumer that records when each message id reached it: the bridge's drain loop, or the floor's
 * bare long-poll loop. `arrived` maps msgId to performance.now() at arrival.
 */
export function bridgeConsumer(url: string, app: string) {
  const arrived = new Map<string, number>();
  const stop = new AbortController();
  const running = drain(
    new BridgeClient({ url, token: TOKEN, app, consumer: `bench-${app}` }),
    (e) => void arrived.set(e.payload.msgId as string, performance.now()),
    { signal: stop.signal, waitMs: 20_000, max: 10 },
  );
  return {
    arrived,
    stop: async () => {
      stop.abort();
      return await running;
    },
  };
}

export function floorConsumer(url: string, object: string) {
  const arrived = new Map<string, number>();
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const res = await fetch(`${url}/poll?object=${object}`, { method: "POST" });
        const { rows } = (await res.json()) as { rows: string[] };
        const now = performance.now();
        for (const row of rows) arrived.set(JSON.parse(row).msgId as string, now);
      } catch {
        await sleep(50);
      }
    }
  })();
  return {
    arrived,
    stop: async () => {
      running = false;
      await loop.catch(() => {});
    },
  };
}

/** Sends one message at a time through `send` and waits for `arrived` to see it; answers the latencies. */
export async function oneByOne(
  n: number,
  send: (m: Record<string, unknown>) => Promise<void>,
  arrived: Map<string, number>,
  index: number,
  side: string,
): Promise<number> {
  const message = sampleRobotMessage({}, index);
  const id = message.msgId as string;
  const t0 = performance.now();
  await send(message);
  const deadline = Date.now() + 5_000;
  while (!arrived.has(id) && Date.now() < deadline) await sleep(0.5);
  if (!arrived.has(id)) throw new Error(`${side}: message ${index} of ${n} did not reach its consumer within 5 s`);
  return arrived.get(id)! - t0;
}
