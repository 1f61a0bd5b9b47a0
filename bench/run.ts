// npm run bench [-- --quick]: the bridge against its floors, each measured in the same run on the
// same runtime (bench/baseline): ingest throughput against a bare one-row commit; callback-to-consumer
// latency through a long poll against a minimal commit-and-wake Durable Object; the same for the
// Stream link's path (a fake DingTalk's frame to the consumer); backlog drain over many conversations
// against a bare lease-and-ack object, with ordering on and off; pull cost against backlog size, with
// ordering on and off (bench/backlog.ts); memory, the idle link's included; and the bundle. Writes
// bench/results/latest.json.
// With --serve, the bridge runs as `dtbridge serve` and the floors on bare workerd configured the same
// way (bench/workerd.ts): no wrangler dev proxy in either path. Writes bench/results/latest-serve.json.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, type as osType, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { sampleRobotMessage } from "../src/dingtalk/sample-messages";
import { measureBundle } from "../test/harness/bundle";
import { startFakeDingTalk } from "../test/harness/fake-dingtalk/index.ts";
import { type LocalBridge, ROOT, startBridge } from "../test/harness/local-bridge";
import { groupRssMb, round, summarize } from "../test/harness/stats";
import { drainRace, fillBacklogs, fillFloor, OFF_APP, ON_APP, pullCosts, replayTwice, SMALL_APP } from "./backlog";
import { load as loadFor, post, signAhead, signedHeaders } from "./callbacks";
import { bridgeConsumer, floorConsumer, oneByOne } from "./consumers";
import { table } from "./table";

const quick = process.argv.includes("--quick");
const runtime = process.argv.includes("--serve") ? "serve" : "wrangler";
const SECRET = "local-dev-client-secret";
const TOKEN = "local-dev-consumer-token";
const PHASE_MS = quick ? 3_000 : 10_000;
const CONCURRENCY = 16;
const ROUNDS = quick ? 2 : 3;
const LATENCY_EVENTS = quick ? 200 : 1000;
const BIG_BACKLOG = quick ? 10_000 : 100_000;
/** Chat traffic is sparse: the consumer acks and is back in its long poll before the next message. */
const GAP_MS = 20;
/** Idle links opened together to weigh one: a single link's memory is lost in the runtime's noise. */
const IDLE_LINKS = quick ? 10 : 50;
const idleApps = Array.from({ length: IDLE_LINKS }, (_, i) => `idle-${i}`);

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// serve runs the package's built bundle (dist/): build it from this checkout first, or the run
// measures whatever an earlier build left there.
if (runtime === "serve") {
  log("building the package (dist/) for dtbridge serve");
  execFileSync(process.execPath, ["scripts/build.mjs"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
}

const load = (ms: number, send: () => Promise<number>) => loadFor(ms, CONCURRENCY, send);
type Summary = ReturnType<typeof summarize>;

async function main() {
  const started = Date.now();
  const dingtalk = await startFakeDingTalk({
    apps: [
      { clientId: "streamer", clientSecret: SECRET },
      { clientId: "floor-stream", clientSecret: SECRET },
      ...idleApps.map((clientId) => ({ clientId, clientSecret: SECRET })),
    ],
    pingIntervalMs: 20_000,
  });
  const envFile = join(mkdtempSync(join(tmpdir(), "dtbridge-bench-")), "bench.env");
  const app = (clientId: string, extra: Record<string, unknown> = {}) => ({
    clientId,
    clientSecret: SECRET,
    consumerTokens: [TOKEN],
    ...extra,
  });
  writeFileSync(
    envFile,
    `${readFileSync(join(ROOT, "config/local.env"), "utf8")}\nMAX_ATTEMPTS=1000\nDINGTALK_API_BASE=${dingtalk.url}\nBRIDGE_APPS=${JSON.stringify(
      {
        [SMALL_APP]: app(SMALL_APP),
        answer: app("answer"),
        [ON_APP]: app(ON_APP),
        [OFF_APP]: app(OFF_APP, { ordering: "off" }),
        latency: app("latency"),
        streamer: app("streamer", { streamLink: true }),
        ...Object.fromEntries(idleApps.map((name) => [name, app(name, { streamLink: true })])),
      },
    )}\n`,
  );
  log(`starting the bridge and the baseline Worker (${runtime === "serve" ? "dtbridge serve, and bare workerd" : "wrangler dev"})`);
  const floors = "bench/baseline/wrangler.toml";
  const [bridge, baseline] = await Promise.all([
    startBridge({ envFile, runtime }),
    runtime === "serve" ? (await import("./workerd")).startOnWorkerd(floors) : startBridge({ config: floors }),
  ]);
  try {
    const robotUrl = (name: string) => `${bridge.url}/dingtalk/${name}/robot`;
    const body = () => JSON.stringify(sampleRobotMessage());

    // 0. What holding a link costs, measured first, on a fresh runtime: IDLE_LINKS apps' links
    // opened (each app's inbox and link objects and its socket), then left idle (pings only).
    const open = (clientId: string) => dingtalk.connections(clientId).some((c) => c.state === "open");
    await sleep(2_000);
    const linkMemoryBefore = memoryOf(bridge).totalMb;
    await Promise.all(idleApps.map((name) => fetch(`${bridge.url}/v1/${name}/status`, { headers: { authorization: `Bearer ${TOKEN}` } })));
    while (!idleApps.every(open)) await sleep(50);
    await sleep(quick ? 3_000 : 10_000);
    const linkMemoryIdle = memoryOf(bridge).totalMb;
    log(`${IDLE_LINKS} idle links: ${round((linkMemoryIdle - linkMemoryBefore) / IDLE_LINKS, 2)} MB each`);

    // 1. Ingest against the bare commit, interleaved so drift hits both alike.
    const bridgeRuns: number[] = [];
    const baseRuns: number[] = [];
    // Warm both up first (JIT, Durable Object start, SQLite pages), so round 1 measures steady state.
    await signAhead(8_000);
    await load(3_000, () => post(baseline.url, { "content-type": "application/json" }, body()));
    await load(3_000, () => post(robotUrl("default"), signedHeaders(), body()));
    // Each round alternates the two in one-second slices: on a shared machine the load shifts within
    // seconds, and whole 10-second phases in turn let a shift land on one side only.
    const slices = PHASE_MS / 1_000;
    for (let round = 0; round < ROUNDS; round++) {
      await signAhead(Math.ceil((PHASE_MS / 1000) * 5_000));
      let baseRps = 0;
      let bridgeRps = 0;
      for (let slice = 0; slice < slices; slice++) {
        baseRps += (await load(PHASE_MS / slices, () => post(baseline.url, { "content-type": "application/json" }, body()))).rps / slices;
        const ingest = await load(PHASE_MS / slices, () => post(robotUrl("default"), signedHeaders(), body()));
        if (ingest.failed) throw new Error(`${ingest.failed} callbacks failed during the ingest phase`);
        bridgeRps += ingest.rps / slices;
      }
      baseRuns.push(baseRps);
      bridgeRuns.push(bridgeRps);
      log(`ingest round ${round + 1}: bridge ${Math.round(bridgeRps)} rps, baseline ${Math.round(baseRps)} rps`);
    }
    const rps = bridgeRuns.reduce((a, b) => a + b) / bridgeRuns.length;
    const baselineRps = baseRuns.reduce((a, b) => a + b) / baseRuns.length;
    const memoryAfterIngest = memoryOf(bridge);

    // 3. Callback to consumer through a long poll, against the floor, sample by sample in turn.
    const bridgeSide = bridgeConsumer(bridge.url, "latency");
    const floorSide = floorConsumer(baseline.url, "handover");
    await signAhead(LATENCY_EVENTS * 2 + 10);
    await sleep(300);
    const e2eSamples: number[] = [];
    const floorSamples: number[] = [];
    for (let i = 0; i < LATENCY_EVENTS; i++) {
      e2eSamples.push(
        await oneByOne(
          LATENCY_EVENTS,
          async (m) => {
            if ((await post(robotUrl("latency"), signedHeaders(), JSON.stringify(m))) !== 200) throw new Error("callback failed");
          },
          bridgeSide.arrived,
          i,
          "bridge, callback",
        ),
      );
      await sleep(GAP_MS);
      floorSamples.push(
        await oneByOne(
          LATENCY_EVENTS,
          async (m) => {
            if ((await post(`${baseline.url}/commit?object=handover`, { "content-type": "application/json" }, JSON.stringify(m))) !== 200)
              throw new Error("floor commit failed");
          },
          floorSide.arrived,
          i,
          "floor, commit",
        ),
      );
      await sleep(GAP_MS);
    }
    await Promise.all([bridgeSide.stop(), floorSide.stop()]);
    const e2e = summarize(e2eSamples);
    const floor = summarize(floorSamples);
    log(`callback to consumer: p50 ${e2e.p50} ms, p99 ${e2e.p99} ms; floor p50 ${floor.p50} ms, p99 ${floor.p99} ms`);

    // 4. The Stream link's path: a frame from DingTalk to the consumer, against the same floor fed
    // by a bare outbound WebSocket.
    const streamSide = bridgeConsumer(bridge.url, "streamer");
    const streamFloorSide = floorConsumer(baseline.url, "stream");
    await fetch(
      `${baseline.url}/stream?object=stream&api=${encodeURIComponent(dingtalk.url)}&id=floor-stream&secret=${encodeURIComponent(SECRET)}`,
      { method: "POST" },
    );
    while (!open("streamer") || !open("floor-stream")) await sleep(50);
    await sleep(300);
    const streamSamples: number[] = [];
    const streamFloorSamples: number[] = [];
    const overStream = (clientId: string) => async (m: Record<string, unknown>) => void dingtalk.sendRobotMessage(m, { clientId });
    for (let i = 0; i < LATENCY_EVENTS; i++) {
      streamSamples.push(await oneByOne(LATENCY_EVENTS, overStream("streamer"), streamSide.arrived, i, "bridge, Stream link"));
      await sleep(GAP_MS);
      streamFloorSamples.push(
        await oneByOne(LATENCY_EVENTS, overStream("floor-stream"), streamFloorSide.arrived, i, "floor, Stream socket"),
      );
      await sleep(GAP_MS);
    }
    await Promise.all([streamSide.stop(), streamFloorSide.stop()]);
    const stream = summarize(streamSamples);
    const streamFloor = summarize(streamFloorSamples);
    log(`Stream frame to consumer: p50 ${stream.p50} ms, p99 ${stream.p99} ms; floor p50 ${streamFloor.p50} ms, p99 ${streamFloor.p99} ms`);

    // 5. One callback answered, against one bare commit.
    const commitSamples: number[] = [];
    const callbackSamples: number[] = [];
    await signAhead(LATENCY_EVENTS);
    for (let i = 0; i < LATENCY_EVENTS; i++) {
      let t0 = performance.now();
      await post(baseline.url, { "content-type": "application/json" }, body());
      commitSamples.push(performance.now() - t0);
      const headers = signedHeaders();
      t0 = performance.now();
      await post(robotUrl("answer"), headers, body());
      callbackSamples.push(performance.now() - t0);
    }
    const commit = summarize(commitSamples);
    const callback = summarize(callbackSamples);
    log(
      `one callback answered: p50 ${callback.p50} ms, p99 ${callback.p99} ms; one bare commit: p50 ${commit.p50} ms, p99 ${commit.p99} ms`,
    );

    // 6. Drain over many conversations, with ordering on and off, against the bare lease-and-ack floor;
    // then pull cost against backlog size, with the delivered backlog replayed twice.
    const conversations = BIG_BACKLOG / 2;
    log(`filling two ${conversations}-event backlogs, one message per conversation (ordering on, and off)`);
    await Promise.all([fillBacklogs(bridge.url, conversations, CONCURRENCY), fillFloor(baseline.url, conversations)]);
    const drained = await drainRace(bridge.url, baseline.url);
    log(
      `drain, 100 a pull: ordering on ${Math.round(drained.on.eventsPerSec)} events/s, off ${Math.round(drained.off.eventsPerSec)}, floor ${Math.round(drained.floor.eventsPerSec)}`,
    );
    for (const app of [ON_APP, OFF_APP]) await replayTwice(bridge.url, app);
    const [small, big, bigOff] = (await pullCosts(bridge.url, [SMALL_APP, ON_APP, OFF_APP])) as [Summary, Summary, Summary];
    log(`pull of 10: ${small.p50} ms with 10 queued, ${big.p50} ms with ${BIG_BACKLOG} queued (ordering off: ${bigOff.p50} ms)`);
    const memory = memoryOf(bridge);
    const bundle = measureBundle();

    const results = {
      runtime,
      quick,
      at: new Date().toISOString(),
      durationS: round((Date.now() - started) / 1000, 1),
      ingest: {
        rps: round(rps, 0),
        baselineRps: round(baselineRps, 0),
        ratio: round(rps / baselineRps, 3),
        concurrency: CONCURRENCY,
        phaseMs: PHASE_MS,
        rounds: { bridge: bridgeRuns.map((x) => round(x, 0)), baseline: baseRuns.map((x) => round(x, 0)) },
      },
      e2e: {
        p50Ms: e2e.p50,
        p99Ms: e2e.p99,
        maxMs: e2e.max,
        events: e2e.n,
        floorP50Ms: floor.p50,
        floorP99Ms: floor.p99,
        ratioP50: round(e2e.p50 / floor.p50, 2),
      },
      streamE2e: {
        p50Ms: stream.p50,
        p99Ms: stream.p99,
        maxMs: stream.max,
        events: stream.n,
        floorP50Ms: streamFloor.p50,
        floorP99Ms: streamFloor.p99,
        ratioP50: round(stream.p50 / streamFloor.p50, 2),
      },
      callback: { p50Ms: callback.p50, p99Ms: callback.p99, baselineCommitP50Ms: commit.p50, baselineCommitP99Ms: commit.p99 },
      drain: {
        eventsPerSec: round(drained.on.eventsPerSec, 0),
        floorEventsPerSec: round(drained.floor.eventsPerSec, 0),
        ratio: round(drained.on.eventsPerSec / drained.floor.eventsPerSec, 3),
        orderingOffEventsPerSec: round(drained.off.eventsPerSec, 0),
        orderingOffRatio: round(drained.off.eventsPerSec / drained.floor.eventsPerSec, 3),
        backlog: drained.on.events,
        conversations,
        batch: 100,
      },
      pull: {
        backlogSmall: 10,
        backlogLarge: BIG_BACKLOG,
        conversationsLarge: conversations,
        p50SmallMs: small.p50,
        p50LargeMs: big.p50,
        p99SmallMs: small.p99,
        p99LargeMs: big.p99,
        ratio: round(big.p50 / small.p50, 2),
        orderingOffP50LargeMs: bigOff.p50,
        orderingOffP99LargeMs: bigOff.p99,
        orderingOffRatio: round(bigOff.p50 / small.p50, 2),
      },
      ordering: {
        drainOnOverOff: round(drained.on.eventsPerSec / drained.off.eventsPerSec, 3),
        pullP50OnOverOff: round(big.p50 / bigOff.p50, 2),
      },
      memory: {
        afterIngestMb: memoryAfterIngest.totalMb,
        endMb: memory.totalMb,
        byProcess: memory.byName,
        idleLinks: {
          links: IDLE_LINKS,
          beforeMb: linkMemoryBefore,
          afterMb: linkMemoryIdle,
          perLinkMb: round((linkMemoryIdle - linkMemoryBefore) / IDLE_LINKS, 2),
        },
      },
      bundle,
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        memoryGb: round(totalmem() / 2 ** 30, 1),
        os: `${osType()} ${release()}`,
        node: process.version,
        wrangler: pkgVersion("wrangler"),
        workerd: pkgVersion("workerd"),
      },
    };
    mkdirSync(join(ROOT, "bench/results"), { recursive: true });
    const file = runtime === "serve" ? "latest-serve.json" : "latest.json";
    writeFileSync(join(ROOT, "bench/results", file), `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`${table(results)}\n`);
  } finally {
    await Promise.all([bridge.stop(), baseline.stop()]);
    await dingtalk.close();
  }
}

/** Resident memory of the bridge's runtime: every process group it runs in (serve's workerd has its own). */
function memoryOf(bridge: LocalBridge): { totalMb: number; byName: Record<string, number> } {
  const byName: Record<string, number> = {};
  let totalMb = 0;
  for (const group of bridge.groups()) {
    const m = groupRssMb(group);
    totalMb += m.totalMb;
    for (const [name, mb] of Object.entries(m.byName)) byName[name] = round((byName[name] ?? 0) + mb, 1);
  }
  return { totalMb: round(totalMb, 1), byName };
}

function pkgVersion(name: string): string {
  return JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : error}\n`);
  process.exitCode = 1;
});
