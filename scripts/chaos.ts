// npm run chaos [-- --quick]: the restart storm this project exists for, end to end on this machine.
// A local bridge with persisted state, a DingTalk simulator sending signed callbacks at a steady
// rate, and a gateway (dtbridge tail) restarted again and again with SIGKILL and SIGTERM in turn;
// midway the runtime itself is killed with SIGKILL and restarted on the same state. Reports what
// was accepted, delivered, lost (must be 0) and delivered twice, and exits 1 on any loss.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { robotSign } from "../src/dingtalk/robot-sign";
import { sampleRobotMessage } from "../src/dingtalk/sample-messages";
import { freePort, type LocalBridge, ROOT, startBridge, stopTree } from "./lib/local-bridge";
import { round } from "./lib/stats";

const quick = process.argv.includes("--quick");
const RESTARTS = quick ? 10 : 14;
const STORM_MS = quick ? 25_000 : 110_000;
const RATE_PER_S = 20;
const SECRET = "local-dev-client-secret";
const TOKEN = "local-dev-consumer-token";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`chaos: ${line}\n`);

async function main() {
  const work = mkdtempSync(join(tmpdir(), "dtbridge-chaos-"));
  const persistDir = join(work, "state");
  const outFile = join(work, "delivered.ndjson");
  const port = await freePort();
  let bridge: LocalBridge = await startBridge({ persistDir, port });
  const url = bridge.url;
  log(`bridge on ${url}, state in ${persistDir}`);

  // The DingTalk side: steady signed callbacks; a callback not answered 200 is retried, as DingTalk may.
  const acceptedAt = new Map<string, number>();
  let simulating = true;
  let refused = 0;
  const simulator = (async () => {
    for (let i = 0; simulating; i++) {
      const tick = Date.now();
      const message = sampleRobotMessage({}, i);
      const msgId = message.msgId as string;
      for (let attempt = 0; simulating || attempt === 0; attempt++) {
        const ts = String(Date.now());
        try {
          const res = await fetch(`${url}/dingtalk/default/robot`, {
            method: "POST",
            headers: { "content-type": "application/json", timestamp: ts, sign: await robotSign(SECRET, ts) },
            body: JSON.stringify(message),
            signal: AbortSignal.timeout(3_000),
          });
          await res.arrayBuffer();
          if (res.status === 200) {
            acceptedAt.set(msgId, Date.now());
            break;
          }
        } catch {
          // the runtime is down: retry below
        }
        refused++;
        await sleep(200);
      }
      await sleep(Math.max(0, 1000 / RATE_PER_S - (Date.now() - tick)));
    }
  })();

  // What the gateways printed, read as it grows, so each delivery has a time.
  const deliveredAt = new Map<string, number>();
  let deliveries = 0;
  let offset = 0;
  let partial = "";
  const readDeliveries = () => {
    let size = 0;
    try {
      size = statSync(outFile).size;
    } catch {
      return;
    }
    if (size <= offset) return;
    const fd = openSync(outFile, "r");
    const buf = Buffer.alloc(size - offset);
    readSync(fd, buf, 0, buf.length, offset);
    closeSync(fd);
    offset = size;
    const lines = (partial + buf.toString("utf8")).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      if (!line) continue;
      const msgId = JSON.parse(line).payload.msgId as string;
      deliveries++;
      if (!deliveredAt.has(msgId)) deliveredAt.set(msgId, Date.now());
    }
  };
  const watcher = setInterval(readDeliveries, 50);

  const startGateway = (): ChildProcess => {
    const out = openSync(outFile, "a");
    const child = spawn(process.execPath, [join(ROOT, "dist/dtbridge.js"), "tail", "--consumer", "chaos-gw", "--wait", "5000"], {
      env: { ...process.env, DTBRIDGE_URL: url, DTBRIDGE_TOKEN: TOKEN },
      stdio: ["ignore", out, "ignore"],
      detached: true,
    });
    closeSync(out);
    return child;
  };
  // The storm.
  const stormStart = Date.now();
  let runtimeKills = 0;
  let gateway = startGateway();
  for (let r = 1; r <= RESTARTS; r++) {
    await sleep(STORM_MS / RESTARTS);
    const signal: NodeJS.Signals = r % 2 ? "SIGKILL" : "SIGTERM";
    await stopTree(gateway, signal);
    log(`gateway restart ${r}/${RESTARTS} (${signal}); ${acceptedAt.size} accepted, ${deliveredAt.size} delivered`);
    if (r === Math.ceil(RESTARTS / 2)) {
      log("killing the runtime with SIGKILL mid-load");
      await bridge.stop("SIGKILL");
      runtimeKills++;
      bridge = await startBridge({ persistDir, port });
      log("runtime restarted on the same state");
    }
    gateway = startGateway();
  }
  const stormS = (Date.now() - stormStart) / 1000;
  simulating = false;
  await simulator;
  log(`storm over after ${round(stormS, 1)} s; waiting for the gateway to deliver the rest`);

  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline && [...acceptedAt.keys()].some((id) => !deliveredAt.has(id))) await sleep(200);
  await stopTree(gateway, "SIGTERM");
  clearInterval(watcher);
  readDeliveries();
  await bridge.stop();

  const lost = [...acceptedAt.keys()].filter((id) => !deliveredAt.has(id));
  const gaps = [...acceptedAt].filter(([id]) => deliveredAt.has(id)).map(([id, t]) => deliveredAt.get(id)! - t);
  const report = {
    quick,
    gatewayRestarts: RESTARTS,
    stormSeconds: round(stormS, 1),
    runtimeKills,
    callbacksAccepted: acceptedAt.size,
    callbacksRetriedBySimulator: refused,
    delivered: deliveredAt.size,
    lost: lost.length,
    deliveredMoreThanOnce: deliveries - deliveredAt.size,
    longestGapMs: gaps.length ? Math.max(...gaps) : 0,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  if (lost.length) {
    log(`LOST ${lost.length}: ${lost.slice(0, 10).join(", ")}`);
    process.exitCode = 1;
  } else {
    log(`no loss: ${report.callbacksAccepted} accepted, all delivered; ${report.deliveredMoreThanOnce} delivered more than once; longest gap ${report.longestGapMs} ms`);
  }
}

main().catch((error) => {
  process.stderr.write(`chaos failed: ${error instanceof Error ? error.stack : error}\n`);
  process.exitCode = 1;
});
