// npm run bench:stages: where a callback's time goes, stage by stage. Round trips of requests that
// stop after successive stages (the Worker alone, the signature check, the body's validation, the
// inbox's commit, a pull), interleaved with the bare baseline Worker's, 400 each; prints p50 and p99.
import { robotSign } from "../src/dingtalk/robot-sign";
import { sampleRobotMessage } from "../src/dingtalk/sample-messages";
import { startBridge } from "../scripts/lib/local-bridge";
import { summarize } from "../scripts/lib/stats";

const SECRET = "local-dev-client-secret";
const TOKEN = "local-dev-consumer-token";
const ROUNDS = process.argv.includes("--quick") ? 100 : 400;

const [bridge, baseline] = await Promise.all([startBridge(), startBridge({ config: "bench/baseline/wrangler.toml" })]);
let last = 0;
const timestamp = () => String((last = Math.max(Date.now(), last + 1)));
const signedCallback = async (secret: string, body: unknown) => {
  const ts = timestamp();
  return { method: "POST", headers: { timestamp: ts, sign: await robotSign(secret, ts), "content-type": "application/json" }, body: JSON.stringify(body) };
};
const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

/** Each stage: a request made ready outside the clock, and the request itself. */
const stages: [string, () => Promise<() => Promise<Response>>][] = [
  ["baseline Worker, no storage", async () => () => fetch(baseline.url)],
  ["baseline Worker, RPC and a one-row commit", async () => () => fetch(baseline.url, { method: "POST", body: JSON.stringify(sampleRobotMessage()) })],
  ["bridge Worker, no storage (GET /)", async () => () => fetch(bridge.url)],
  ["bridge callback refused at the signature", async () => { const init = await signedCallback("wrong", sampleRobotMessage()); return () => fetch(`${bridge.url}/dingtalk/default/robot`, init); }],
  ["bridge callback refused at validation (signature checked, body read)", async () => { const init = await signedCallback(SECRET, { nope: 1 }); return () => fetch(`${bridge.url}/dingtalk/default/robot`, init); }],
  ["bridge callback committed", async () => { const init = await signedCallback(SECRET, sampleRobotMessage()); return () => fetch(`${bridge.url}/dingtalk/default/robot`, init); }],
  ["bridge status (token, RPC, reads only)", async () => () => fetch(`${bridge.url}/v1/default/status`, { headers: auth })],
  ["bridge pull of one event (token, RPC, lease, commit)", async () => () => fetch(`${bridge.url}/v1/default/pull`, { method: "POST", headers: auth, body: JSON.stringify({ max: 1, leaseMs: 600_000 }) })],
];

const samples = new Map<string, number[]>(stages.map(([name]) => [name, []]));
for (let round = -20; round < ROUNDS; round++) {
  for (const [name, prepare] of stages) {
    const request = await prepare();
    const t0 = performance.now();
    await (await request()).arrayBuffer();
    if (round >= 0) samples.get(name)!.push(performance.now() - t0);
  }
}
for (const [name, s] of samples) {
  const x = summarize(s);
  process.stdout.write(`${name.padEnd(72)} p50 ${String(x.p50).padStart(5)} ms  p99 ${x.p99} ms\n`);
}
await Promise.all([bridge.stop(), baseline.stop()]);
