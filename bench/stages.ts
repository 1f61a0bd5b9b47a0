// npm run bench:stages: where a callback's time goes, stage by stage. First, round trips of requests
// that stop after successive stages (the Worker alone, the signature check, the body's validation,
// the inbox's commit, a pull), interleaved with the bare baseline Worker's. Then the hand-over: a
// callback to a consumer already waiting in a long poll, read by a bare fetch loop and by the
// TypeScript client's drain loop, against the floor's commit-and-wake. 400 rounds; prints p50 and p99.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BridgeClient } from "../src/client/bridge-client";
import { drain } from "../src/client/drain";
import { robotSign } from "../src/dingtalk/robot-sign";
import { sampleRobotMessage } from "../src/dingtalk/sample-messages";
import { ROOT, startBridge } from "../test/harness/local-bridge";
import { summarize } from "../test/harness/stats";

const SECRET = "local-dev-client-secret";
const TOKEN = "local-dev-consumer-token";
const ROUNDS = process.argv.includes("--quick") ? 100 : 400;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A new order each round: whichever runs first after a pause is slower, and no stage should always be it. */
const shuffled = <T>(items: readonly T[]): T[] =>
  items
    .map((item) => ({ item, key: Math.random() }))
    .sort((a, b) => a.key - b.key)
    .map((x) => x.item);
const envFile = join(mkdtempSync(join(tmpdir(), "dtbridge-stages-")), "stages.env");
const app = (clientId: string) => ({ clientId, clientSecret: SECRET, consumerTokens: [TOKEN] });
writeFileSync(
  envFile,
  `${readFileSync(join(ROOT, "config/local.env"), "utf8")}\nBRIDGE_APPS=${JSON.stringify({ default: app("default"), bare: app("bare"), drained: app("drained") })}\n`,
);
const [bridge, baseline] = await Promise.all([startBridge({ envFile }), startBridge({ config: "bench/baseline/wrangler.toml" })]);
let last = 0;
const timestamp = () => {
  last = Math.max(Date.now(), last + 1);
  return String(last);
};
const signedCallback = async (secret: string, body: unknown) => {
  const ts = timestamp();
  return {
    method: "POST",
    headers: { timestamp: ts, sign: await robotSign(secret, ts), "content-type": "application/json" },
    body: JSON.stringify(body),
  };
};
const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

/** Each stage: a request made ready outside the clock, and the request itself. */
const stages: [string, () => Promise<() => Promise<Response>>][] = [
  ["baseline Worker, no storage", async () => () => fetch(baseline.url)],
  [
    "baseline Worker, RPC and a one-row commit",
    async () => () => fetch(baseline.url, { method: "POST", body: JSON.stringify(sampleRobotMessage()) }),
  ],
  ["bridge Worker, no storage (GET /)", async () => () => fetch(bridge.url)],
  [
    "bridge callback refused at the signature",
    async () => {
      const init = await signedCallback("wrong", sampleRobotMessage());
      return () => fetch(`${bridge.url}/dingtalk/default/robot`, init);
    },
  ],
  [
    "bridge callback refused at validation (signature checked, body read)",
    async () => {
      const init = await signedCallback(SECRET, { nope: 1 });
      return () => fetch(`${bridge.url}/dingtalk/default/robot`, init);
    },
  ],
  [
    "bridge callback committed",
    async () => {
      const init = await signedCallback(SECRET, sampleRobotMessage());
      return () => fetch(`${bridge.url}/dingtalk/default/robot`, init);
    },
  ],
  ["bridge status (token, RPC, reads only)", async () => () => fetch(`${bridge.url}/v1/default/status`, { headers: auth })],
  [
    "bridge pull of one event (token, RPC, lease, commit)",
    async () => () =>
      fetch(`${bridge.url}/v1/default/pull`, { method: "POST", headers: auth, body: JSON.stringify({ max: 1, leaseMs: 600_000 }) }),
  ],
];

const samples = new Map<string, number[]>(stages.map(([name]) => [name, []]));
for (let round = -20; round < ROUNDS; round++) {
  for (const [name, prepare] of shuffled(stages)) {
    const request = await prepare();
    const t0 = performance.now();
    await (await request()).arrayBuffer();
    if (round >= 0) samples.get(name)!.push(performance.now() - t0);
  }
}

// The hand-over: each consumer records when each msgId reached it.
const stop = new AbortController();
const loops: Promise<unknown>[] = [];
/** A long-poll loop: `poll` records in `arrived` when each msgId reached it, and acks if it must. */
function consumer(poll: (arrived: Map<string, number>) => Promise<void>) {
  const arrived = new Map<string, number>();
  loops.push(
    (async () => {
      while (!stop.signal.aborted) await poll(arrived).catch(() => (stop.signal.aborted ? undefined : sleep(50)));
    })(),
  );
  return arrived;
}
const floorArrived = consumer(async (arrived) => {
  const res = await fetch(`${baseline.url}/poll?object=stages`, { method: "POST", signal: stop.signal });
  const { rows } = (await res.json()) as { rows: string[] };
  for (const row of rows) arrived.set(JSON.parse(row).msgId as string, performance.now());
});
const bareArrived = consumer(async (arrived) => {
  const res = await fetch(`${bridge.url}/v1/bare/pull`, {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ max: 10, waitMs: 20_000, consumer: "bare" }),
    signal: stop.signal,
  });
  const { events } = (await res.json()) as { events: { leaseId: string; payload: { msgId: string } }[] };
  for (const e of events) arrived.set(e.payload.msgId, performance.now());
  if (events.length)
    await (
      await fetch(`${bridge.url}/v1/bare/ack`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ leaseIds: events.map((e) => e.leaseId) }),
      })
    ).arrayBuffer();
});
const drainArrived = new Map<string, number>();
loops.push(
  drain(
    new BridgeClient({ url: bridge.url, token: TOKEN, app: "drained", consumer: "drained" }),
    (e) => void drainArrived.set(e.payload.msgId as string, performance.now()),
    {
      signal: stop.signal,
      waitMs: 20_000,
    },
  ),
);
await sleep(500);

const handovers: [string, Map<string, number>, (m: Record<string, unknown>) => Promise<() => Promise<Response>>][] = [
  [
    "floor: commit handed to a waiting poll, read by a bare fetch",
    floorArrived,
    async (m) => () => fetch(`${baseline.url}/commit?object=stages`, { method: "POST", body: JSON.stringify(m) }),
  ],
  [
    "bridge: callback handed to a waiting pull, read by a bare fetch",
    bareArrived,
    async (m) => {
      const init = await signedCallback(SECRET, m);
      return () => fetch(`${bridge.url}/dingtalk/bare/robot`, init);
    },
  ],
  [
    "bridge: callback handed to the TypeScript client's drain loop",
    drainArrived,
    async (m) => {
      const init = await signedCallback(SECRET, m);
      return () => fetch(`${bridge.url}/dingtalk/drained/robot`, init);
    },
  ],
];
for (const [name] of handovers) samples.set(name, []);
for (let round = -20; round < ROUNDS; round++) {
  for (const [name, arrived, prepare] of shuffled(handovers)) {
    const message = sampleRobotMessage({}, round + 100);
    const id = message.msgId as string;
    const request = await prepare(message);
    const t0 = performance.now();
    await (await request()).arrayBuffer();
    while (!arrived.has(id)) await sleep(0.5);
    if (round >= 0) samples.get(name)!.push(arrived.get(id)! - t0);
    await sleep(15);
  }
}
stop.abort();
await Promise.allSettled(loops);

for (const [name, s] of samples) {
  const x = summarize(s);
  process.stdout.write(`${name.padEnd(72)} p50 ${String(x.p50).padStart(5)} ms  p99 ${x.p99} ms\n`);
}
await Promise.all([bridge.stop(), baseline.stop()]);
process.exit(0);
