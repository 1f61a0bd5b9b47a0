// npm run bench [-- --quick]: ingest throughput against a bare baseline Worker on the same runtime,
// callback-to-consumer latency through long poll, backlog drain rate, pull cost against backlog
// size, and the runtime's memory. Writes bench/results/latest.json and prints a summary.
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { cpus, totalmem, tmpdir, type as osType, release } from "node:os";
import { join } from "node:path";
import { BridgeClient } from "../src/client/bridge-client";
import { drain } from "../src/client/drain";
import { robotSign } from "../src/dingtalk/robot-sign";
import { sampleRobotMessage } from "../src/dingtalk/sample-messages";
import { ROOT, startBridge } from "../scripts/lib/local-bridge";
import { groupRssMb, round, summarize } from "../scripts/lib/stats";

const quick = process.argv.includes("--quick");
const SECRET = "local-dev-client-secret";
const TOKEN = "local-dev-consumer-token";
const PHASE_MS = quick ? 3_000 : 10_000;
const CONCURRENCY = 16;
const ROUNDS = quick ? 2 : 3;
const LATENCY_EVENTS = quick ? 200 : 1000;
const BIG_BACKLOG = quick ? 10_000 : 100_000;

function log(line: string) {
  process.stderr.write(`bench: ${line}\n`);
}

/** Sends as many requests as CONCURRENCY loops manage in `ms`; answers requests per second. */
async function load(ms: number, send: () => Promise<number>): Promise<{ rps: number; failed: number }> {
  const end = Date.now() + ms;
  let ok = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) ((await send()) === 200 ? ok++ : failed++);
    }),
  );
  return { rps: ok / ((performance.now() - started) / 1000), failed };
}

async function signedHeaders() {
  // A signature depends on the timestamp only and stays valid for the sign window: one per phase.
  const timestamp = String(Date.now());
  return { "content-type": "application/json", timestamp, sign: await robotSign(SECRET, timestamp) };
}

async function post(url: string, headers: Record<string, string>, body: string): Promise<number> {
  try {
    const res = await fetch(url, { method: "POST", headers, body });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

async function main() {
  const started = Date.now();
  const envFile = join(mkdtempSync(join(tmpdir(), "dtbridge-bench-")), "bench.env");
  writeFileSync(
    envFile,
    `${readFileSync(join(ROOT, "config/local.env"), "utf8")}\nMAX_ATTEMPTS=1000\nBRIDGE_APPS=${JSON.stringify({
      small: { clientId: "small", clientSecret: SECRET, consumerTokens: [TOKEN] },
      answer: { clientId: "answer", clientSecret: SECRET, consumerTokens: [TOKEN] },
      backlog: { clientId: "backlog", clientSecret: SECRET, consumerTokens: [TOKEN] },
    })}\n`,
  );
  log("starting the bridge and the baseline Worker (wrangler dev)");
  const [bridge, baseline] = await Promise.all([startBridge({ envFile }), startBridge({ config: "bench/baseline/wrangler.toml" })]);
  try {
    const robotUrl = (app: string) => `${bridge.url}/dingtalk/${app}/robot`;
    const body = () => JSON.stringify(sampleRobotMessage());

    // 1. Ingest against the baseline, interleaved so drift hits both alike.
    const bridgeRuns: number[] = [];
    const baseRuns: number[] = [];
    // Warm both up first (JIT, Durable Object start, SQLite pages), so round 1 measures steady state.
    const warm = await signedHeaders();
    await load(1_000, () => post(baseline.url, { "content-type": "application/json" }, body()));
    await load(1_000, () => post(robotUrl("default"), warm, body()));
    for (let round = 0; round < ROUNDS; round++) {
      const base = await load(PHASE_MS, () => post(baseline.url, { "content-type": "application/json" }, body()));
      baseRuns.push(base.rps);
      const headers = await signedHeaders();
      const ingest = await load(PHASE_MS, () => post(robotUrl("default"), headers, body()));
      if (ingest.failed) throw new Error(`${ingest.failed} callbacks failed during the ingest phase`);
      bridgeRuns.push(ingest.rps);
      log(`ingest round ${round + 1}: bridge ${Math.round(ingest.rps)} rps, baseline ${Math.round(base.rps)} rps`);
    }
    const rps = bridgeRuns.reduce((a, b) => a + b) / bridgeRuns.length;
    const baselineRps = baseRuns.reduce((a, b) => a + b) / baseRuns.length;
    const memoryAfterIngest = groupRssMb(bridge.pid);

    // 2. Drain the backlog the ingest phase left, 100 a pull, acking each batch.
    const client = new BridgeClient({ url: bridge.url, token: TOKEN, consumer: "bench" });
    const backlog = (await client.status()).depth as number;
    const drainStart = performance.now();
    let drained = 0;
    for (;;) {
      const { events } = await client.pull({ max: 100, leaseMs: 60_000 });
      if (events.length === 0) break;
      await client.ack(events.map((e) => e.leaseId));
      drained += events.length;
    }
    const eventsPerSec = drained / ((performance.now() - drainStart) / 1000);
    log(`drained ${drained} of a ${backlog}-event backlog at ${Math.round(eventsPerSec)} events/s`);

    // 3. Callback-to-consumer latency through long poll, one callback at a time.
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    const stop = new AbortController();
    const consumer = drain(
      new BridgeClient({ url: bridge.url, token: TOKEN, consumer: "latency" }),
      (e) => {
        const t = sentAt.get(e.payload.msgId as string);
        if (t !== undefined) latencies.push(performance.now() - t);
      },
      { signal: stop.signal, waitMs: 20_000, max: 10 },
    );
    await new Promise((r) => setTimeout(r, 300));
    const headers = await signedHeaders();
    for (let i = 0; i < LATENCY_EVENTS; i++) {
      const message = sampleRobotMessage({}, i);
      sentAt.set(message.msgId as string, performance.now());
      if ((await post(robotUrl("default"), headers, JSON.stringify(message))) !== 200) throw new Error("callback failed");
      const deadline = Date.now() + 5_000;
      while (latencies.length <= i && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      // Chat traffic is sparse: let the consumer ack and be back in its long poll before the next one.
      await new Promise((r) => setTimeout(r, 20));
    }
    stop.abort();
    await consumer;
    const e2e = summarize(latencies);
    log(`callback-to-consumer latency over ${e2e.n}: p50 ${e2e.p50} ms, p99 ${e2e.p99} ms`);
    // For scale: one bare durable commit, request to answer, on the same runtime. The bridge's
    // path holds two (the callback's insert, then the lease) plus a long-poll answer.
    const commitSamples: number[] = [];
    for (let i = 0; i < LATENCY_EVENTS; i++) {
      const t0 = performance.now();
      await post(baseline.url, { "content-type": "application/json" }, body());
      commitSamples.push(performance.now() - t0);
    }
    const commit = summarize(commitSamples);
    const callbackSamples: number[] = [];
    for (let i = 0; i < LATENCY_EVENTS; i++) {
      const t0 = performance.now();
      await post(robotUrl("answer"), headers, body());
      callbackSamples.push(performance.now() - t0);
    }
    const callback = summarize(callbackSamples);
    log(`one callback answered: p50 ${callback.p50} ms, p99 ${callback.p99} ms; one bare commit: p50 ${commit.p50} ms, p99 ${commit.p99} ms`);

    // 4. Pull cost against backlog size: the same pull on 10 events and on BIG_BACKLOG events.
    const fill = async (app: string, n: number) => {
      const h = await signedHeaders();
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < n) {
            next++;
            if ((await post(robotUrl(app), h, body())) !== 200) throw new Error("fill failed");
          }
        }),
      );
    };
    log(`filling a ${BIG_BACKLOG}-event backlog`);
    await Promise.all([fill("small", 10), fill("backlog", BIG_BACKLOG)]);
    const pullCost = async (app: string) => {
      const c = new BridgeClient({ url: bridge.url, token: TOKEN, app, consumer: "pullcost" });
      const samples: number[] = [];
      for (let i = 0; i < 120; i++) {
        const t0 = performance.now();
        const { events } = await c.pull({ max: 10, leaseMs: 60_000 });
        samples.push(performance.now() - t0);
        await c.nack(events.map((e) => e.leaseId));
      }
      return summarize(samples.slice(20));
    };
    const small = await pullCost("small");
    const big = await pullCost("backlog");
    log(`pull of 10: ${small.p50} ms with 10 queued, ${big.p50} ms with ${BIG_BACKLOG} queued`);
    const memory = groupRssMb(bridge.pid);

    const results = {
      quick,
      at: new Date().toISOString(),
      durationS: round((Date.now() - started) / 1000, 1),
      ingest: { rps: round(rps, 0), baselineRps: round(baselineRps, 0), ratio: round(rps / baselineRps, 3), concurrency: CONCURRENCY, phaseMs: PHASE_MS, rounds: { bridge: bridgeRuns.map((x) => round(x, 0)), baseline: baseRuns.map((x) => round(x, 0)) } },
      e2e: { p50Ms: e2e.p50, p99Ms: e2e.p99, maxMs: e2e.max, events: e2e.n },
      callback: { p50Ms: callback.p50, p99Ms: callback.p99, baselineCommitP50Ms: commit.p50, baselineCommitP99Ms: commit.p99 },
      drain: { eventsPerSec: round(eventsPerSec, 0), backlog: drained, batch: 100 },
      pull: { backlogSmall: 10, backlogLarge: BIG_BACKLOG, p50SmallMs: small.p50, p50LargeMs: big.p50, p99SmallMs: small.p99, p99LargeMs: big.p99, ratio: round(big.p50 / small.p50, 2) },
      memory: { afterIngestMb: memoryAfterIngest.totalMb, endMb: memory.totalMb, byProcess: memory.byName },
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: round(totalmem() / 2 ** 30, 1), os: `${osType()} ${release()}`, node: process.version, wrangler: pkgVersion("wrangler"), workerd: pkgVersion("workerd") },
    };
    mkdirSync(join(ROOT, "bench/results"), { recursive: true });
    writeFileSync(join(ROOT, "bench/results/latest.json"), `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`${table(results)}\n`);
  } finally {
    await Promise.all([bridge.stop(), baseline.stop()]);
  }
}

function pkgVersion(name: string): string {
  return JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
}

function table(r: any): string {
  return [
    `| measure | figure |`,
    `|---|---|`,
    `| ingest, signed robot callbacks | ${r.ingest.rps} rps (baseline ${r.ingest.baselineRps} rps, ratio ${r.ingest.ratio}) |`,
    `| callback to consumer, long poll | p50 ${r.e2e.p50Ms} ms, p99 ${r.e2e.p99Ms} ms (${r.e2e.events} events) |`,
    `| one callback answered (one bare commit) | p50 ${r.callback.p50Ms} ms, p99 ${r.callback.p99Ms} ms (p50 ${r.callback.baselineCommitP50Ms} ms, p99 ${r.callback.baselineCommitP99Ms} ms) |`,
    `| backlog drain | ${r.drain.eventsPerSec} events/s (${r.drain.backlog} events, 100 a pull) |`,
    `| pull of 10 | p50 ${r.pull.p50SmallMs} ms at 10 queued, ${r.pull.p50LargeMs} ms at ${r.pull.backlogLarge} queued (ratio ${r.pull.ratio}) |`,
    `| runtime memory | ${r.memory.afterIngestMb} MB after ingest, ${r.memory.endMb} MB at the end |`,
    `| machine | ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGb} GB, Node ${r.machine.node}, workerd ${r.machine.workerd} |`,
  ].join("\n");
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : error}\n`);
  process.exitCode = 1;
});
