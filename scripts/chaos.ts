// npm run chaos [-- --quick] [-- --link] [-- --serve]: the restart storm this project exists for, end to end.
//
// Without --link, DingTalk delivers over HTTP: a simulator sends signed callbacks for 30 interleaved
// conversations at a steady rate while two gateways per app (the published client's drain, 4
// conversations at once, random handler times: test/harness/gateway.ts) are restarted again and
// again with SIGKILL and SIGTERM, one at a time or both; midway the runtime itself is killed with
// SIGKILL and restarted on the same state.
//
// With --link, the bridge holds DingTalk Stream itself (a fake DingTalk's Stream gateway sends the
// messages) and the same gateway storm runs for two apps, while DingTalk changes one app's
// connection over (disconnect), drops the other's, and the runtime is killed and restarted. The fake
// counts every Stream open: the gateway storm must cause none.
//
// With --serve, the bridge runs as `dtbridge serve` (the production bundle on bare workerd) instead of
// `wrangler dev`, and the runtime kill is a kill -9 of serve: its workerd lives on, holding the SQLite
// files, until the restarted serve finds and ends it.
//
// Reports what was accepted, delivered, lost (must be 0) and delivered twice, and checks ordering from
// every handler run the gateways recorded (test/harness/ordering-check.ts): no two runs of one
// conversation at once, on one gateway or two, and each conversation's messages first completed in
// seq order, a message completed again only across a kill (of its gateway, or of the runtime) that
// lost its ack. Exits 1 on any loss or ordering fault.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { robotSign } from "../src/dingtalk/robot-sign";
import { sampleRobotMessage } from "../src/dingtalk/sample-messages";
import { DeliveryLog } from "../test/harness/delivery-log";
import { startFakeDingTalk } from "../test/harness/fake-dingtalk/index.ts";
import { monoNow, startGateway } from "../test/harness/gateway";
import { freePort, type LocalBridge, ROOT, startBridge, stopTree } from "../test/harness/local-bridge";
import { checkOrdering, type Kill } from "../test/harness/ordering-check";
import { round } from "../test/harness/stats";

const quick = process.argv.includes("--quick");
const linkMode = process.argv.includes("--link");
const runtime = process.argv.includes("--serve") ? "serve" : "wrangler";
const RESTARTS = quick ? 10 : 14;
const STORM_MS = quick ? 25_000 : 110_000;
const RATE_PER_S = 20;
const CONVERSATIONS = 30;
const GATEWAYS_PER_APP = 2;
/** Long enough that a kill often cuts a handler off mid-run. */
const HANDLER_MS = 150;
const SECRET = "local-dev-client-secret";
const TOKEN = "local-dev-consumer-token";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`chaos: ${line}\n`);

/** The i-th message DingTalk sends: one of CONVERSATIONS conversations, round-robin. */
const chaosMessage = (i: number) => sampleRobotMessage({ conversationId: `cid-chaos-${i % CONVERSATIONS}` }, i);

/** DingTalk's side of the run: it sends until told to stop, and knows what it got through. */
interface Source {
  /** msgId -> when DingTalk's side counted it as handed to the bridge (monoNow). */
  accepted: Map<string, number>;
  stop(): Promise<void>;
  /** Disruptions on DingTalk's side, at their moments in the storm. */
  disrupt?(step: number, of: number): Promise<void>;
  report(): Record<string, unknown>;
  close(): Promise<void>;
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), "dtbridge-chaos-"));
  const persistDir = join(work, "state");
  const port = await freePort();
  const setup = linkMode ? await linkSetup(work) : { envFile: undefined, apps: ["default"], source: null };
  const start = () => startBridge({ persistDir, port, runtime, ...(setup.envFile ? { envFile: setup.envFile } : {}) });
  let bridge: LocalBridge = await start();
  log(
    `bridge on ${bridge.url} (${runtime === "serve" ? "dtbridge serve" : "wrangler dev"}), state in ${persistDir}${linkMode ? ", holding DingTalk Stream itself" : ""}`,
  );
  const source = setup.source ? await setup.source(bridge.url) : webhookSource(bridge.url);

  const logs = setup.apps.map((app) => new DeliveryLog(join(work, `delivered-${app}.ndjson`)));
  // gateways[app][g]: each restart is a new process with the same consumer id, which takes its
  // predecessor's leases back at once (its first pull releases them).
  const gatewayFor = (i: number, g: number) =>
    startGateway({
      url: bridge.url,
      token: TOKEN,
      app: setup.apps[i]!,
      consumer: `chaos-gw-${setup.apps[i]}-${g}`,
      outFile: logs[i]!.file,
      handlerMs: HANDLER_MS,
    });
  const gateways: ChildProcess[][] = setup.apps.map((_, i) => Array.from({ length: GATEWAYS_PER_APP }, (_, g) => gatewayFor(i, g)));
  const kills: Kill[] = [];
  const stop = async (child: ChildProcess, signal: NodeJS.Signals) => {
    const at = monoNow();
    await stopTree(child, signal);
    if (signal === "SIGKILL") kills.push({ pid: child.pid!, at, over: monoNow() });
  };

  const stormStart = Date.now();
  let runtimeKills = 0;
  const delivered = () => logs.reduce((n, l) => n + l.firstAt.size, 0);
  for (let r = 1; r <= RESTARTS; r++) {
    await sleep(STORM_MS / RESTARTS);
    // Every gateway meets both signals; every third restart takes all of an app's gateways at once.
    const signal: NodeJS.Signals = Math.ceil(r / 2) % 2 ? "SIGKILL" : "SIGTERM";
    const which = r % 3 === 0 ? [...Array(GATEWAYS_PER_APP).keys()] : [r % GATEWAYS_PER_APP];
    await Promise.all(gateways.flatMap((ofApp) => which.map((g) => stop(ofApp[g]!, signal))));
    log(
      `gateway restart ${r}/${RESTARTS} (${signal}, ${which.length === GATEWAYS_PER_APP ? "all" : `#${which[0]}`}); ${source.accepted.size} accepted, ${delivered()} delivered`,
    );
    await source.disrupt?.(r, RESTARTS);
    if (r === Math.ceil((RESTARTS * 3) / 4)) {
      log(
        runtime === "serve"
          ? "killing dtbridge serve with SIGKILL mid-load (its workerd lives on)"
          : "killing the runtime with SIGKILL mid-load",
      );
      const at = monoNow();
      await bridge.stop("SIGKILL");
      runtimeKills++;
      bridge = await start();
      kills.push({ at, over: monoNow() });
      log("runtime restarted on the same state");
    }
    for (const [i, ofApp] of gateways.entries()) for (const g of which) ofApp[g] = gatewayFor(i, g);
  }
  const stormS = (Date.now() - stormStart) / 1000;
  await source.stop();
  log(`storm over after ${round(stormS, 1)} s; waiting for the gateways to deliver the rest`);

  const isDelivered = (id: string) => logs.some((l) => l.firstAt.has(id));
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline && [...source.accepted.keys()].some((id) => !isDelivered(id))) await sleep(200);
  await Promise.all(gateways.flat().map((g) => stopTree(g, "SIGTERM")));
  for (const l of logs) l.stop();
  if ([...source.accepted.keys()].some((id) => !isDelivered(id))) {
    for (const app of setup.apps) {
      const res = await fetch(`${bridge.url}/v1/${app}/status`, { headers: { authorization: `Bearer ${TOKEN}` } }).catch(() => null);
      log(`status of ${app} with messages missing: ${res ? (await res.text()).slice(0, 1500) : "unreachable"}`);
    }
    log(`the runtime's log:\n${bridge.output().slice(-5000)}`);
  }
  await bridge.stop();
  await source.close();

  const lost = [...source.accepted.keys()].filter((id) => !isDelivered(id));
  const firstAt = (id: string) => Math.min(...logs.map((l) => l.firstAt.get(id) ?? Infinity));
  const gaps = [...source.accepted].filter(([id]) => isDelivered(id)).map(([id, t]) => firstAt(id) - t);
  const deliveries = logs.reduce((n, l) => n + l.deliveries, 0);
  const ordering = logs.map((l) => checkOrdering(l.runs(), kills));
  const orderingFaults = ordering.flatMap((o) => [...o.overlaps, ...o.outOfOrder, ...o.unexplainedReruns]);
  const report = {
    mode: linkMode ? "link" : "webhook",
    runtime,
    quick,
    gatewayRestarts: RESTARTS,
    stormSeconds: round(stormS, 1),
    runtimeKills,
    accepted: source.accepted.size,
    delivered: delivered(),
    lost: lost.length,
    deliveredMoreThanOnce: deliveries - delivered(),
    longestGapMs: gaps.length ? Math.round(Math.max(...gaps)) : 0,
    ordering: {
      gatewaysPerApp: GATEWAYS_PER_APP,
      gatewayKills: kills.filter((k) => k.pid !== undefined).length,
      conversations: ordering.reduce((n, o) => n + o.conversations, 0),
      runs: ordering.reduce((n, o) => n + o.runs, 0),
      cutByKills: ordering.reduce((n, o) => n + o.cut, 0),
      rerunsAfterKills: ordering.reduce((n, o) => n + o.reruns, 0),
      overlaps: ordering.reduce((n, o) => n + o.overlaps.length, 0),
      outOfOrder: ordering.reduce((n, o) => n + o.outOfOrder.length, 0),
      unexplainedReruns: ordering.reduce((n, o) => n + o.unexplainedReruns.length, 0),
    },
    ...source.report(),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  const stream = (report as { stream?: { opensBeyondDisruptions: number; unackedAtFake: number; protocolViolations: number } }).stream;
  const streamTrouble = stream ? stream.opensBeyondDisruptions + stream.unackedAtFake + stream.protocolViolations : 0;
  if (lost.length || streamTrouble > 0 || orderingFaults.length) {
    log(
      `FAILED: ${lost.length} lost (${lost.slice(0, 10).join(", ")}); Stream: ${JSON.stringify(stream ?? {})}; ordering faults: ${orderingFaults.length}`,
    );
    for (const fault of orderingFaults.slice(0, 20)) log(`  ${fault}`);
    process.exitCode = 1;
  } else {
    log(
      `no loss: ${report.accepted} accepted, all delivered; ${report.deliveredMoreThanOnce} delivered more than once; longest gap ${report.longestGapMs} ms`,
    );
    log(
      `ordering held in ${report.ordering.conversations} conversations: never two runs of one at once, first completions in seq order; ${report.ordering.cutByKills} runs cut off and ${report.ordering.rerunsAfterKills} re-run after kills`,
    );
  }
}

/** DingTalk in HTTP mode: signed callbacks at a steady rate; one not answered 200 is retried, as DingTalk may. */
function webhookSource(url: string): Source {
  const accepted = new Map<string, number>();
  let sending = true;
  let retried = 0;
  let lastTimestamp = 0;
  const done = (async () => {
    for (let i = 0; sending; i++) {
      const tick = Date.now();
      const message = chaosMessage(i);
      const msgId = message.msgId as string;
      for (let attempt = 0; sending || attempt === 0; attempt++) {
        lastTimestamp = Math.max(Date.now(), lastTimestamp + 1);
        const ts = String(lastTimestamp);
        try {
          const res = await fetch(`${url}/dingtalk/default/robot`, {
            method: "POST",
            headers: { "content-type": "application/json", timestamp: ts, sign: await robotSign(SECRET, ts) },
            body: JSON.stringify(message),
            signal: AbortSignal.timeout(3_000),
          });
          await res.arrayBuffer();
          if (res.status === 200) {
            accepted.set(msgId, monoNow());
            break;
          }
        } catch {
          // the runtime is down: retry below
        }
        retried++;
        await sleep(200);
      }
      await sleep(Math.max(0, 1000 / RATE_PER_S - (Date.now() - tick)));
    }
  })();
  return {
    accepted,
    stop: async () => {
      sending = false;
      await done;
    },
    report: () => ({ callbacksRetriedBySimulator: retried }),
    close: async () => {},
  };
}

/**
 * DingTalk in Stream mode, held by the bridge: two apps, each with its own budget of 3 opens in 10
 * minutes, so each can take one disruption of its own besides the runtime kill they share.
 */
async function linkSetup(work: string) {
  const apps = ["ch-a", "ch-b"];
  const clientIdOf = (app: string) => `ding-${app}`;
  const dingtalk = await startFakeDingTalk({
    apps: apps.map((a) => ({ clientId: clientIdOf(a), clientSecret: SECRET })),
    pingIntervalMs: 5_000,
    redeliverAfterMs: 3_000,
    maxRedeliveries: 40,
    disconnectGraceMs: 2_000,
  });
  const bridgeApps = Object.fromEntries(apps.map((a) => [a, { clientId: clientIdOf(a), clientSecret: SECRET, consumerTokens: [TOKEN] }]));
  const envFile = join(work, "link.env");
  writeFileSync(
    envFile,
    `${readFileSync(join(ROOT, "config/local.env"), "utf8")}\nSTREAM_LINK=on\nDINGTALK_API_BASE=${dingtalk.url}\nBRIDGE_APPS=${JSON.stringify(bridgeApps)}\n`,
  );
  const source = async (url: string): Promise<Source> => {
    // The first request for each app starts its link.
    for (const app of apps) await fetch(`${url}/v1/${app}/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const live = (app: string) => dingtalk.connections(clientIdOf(app)).filter((c) => c.state === "open");
    while (!apps.every((a) => live(a).length)) await sleep(50);
    const accepted = new Map<string, number>();
    let i = 0;
    // Messages round-robin over the apps; DingTalk has them from the moment they are sent.
    const timer = setInterval(() => {
      const app = apps[i % apps.length]!;
      accepted.set(dingtalk.sendRobotMessage(chaosMessage(i++), { clientId: clientIdOf(app) }).msgId, monoNow());
    }, 1000 / RATE_PER_S);
    const disruptions: string[] = [];
    return {
      accepted,
      async disrupt(step, of) {
        if (step === Math.ceil(of / 4)) {
          disruptions.push("disconnect changeover (ch-a)");
          for (const c of live("ch-a")) dingtalk.sendDisconnect(c.id);
        }
        if (step === Math.ceil(of / 2)) {
          disruptions.push("abrupt drop (ch-b)");
          for (const c of live("ch-b")) dingtalk.drop(c.id);
        }
      },
      stop: async () => clearInterval(timer),
      report() {
        const opens = apps.map((a) => dingtalk.opens.filter((o) => o.kind === "ticket" && o.clientId === clientIdOf(a)).length);
        // Each app: its first open, its own disruption, and the runtime kill's reconnect.
        return {
          stream: {
            disruptions: [...disruptions, "runtime SIGKILL (both)"],
            opensPerApp: Object.fromEntries(apps.map((a, k) => [a, opens[k]])),
            opensBeyondDisruptions: opens.reduce((n, o) => n + Math.max(0, o - 3), 0),
            unackedAtFake: dingtalk.unackedMsgIds().length,
            protocolViolations: dingtalk.violations.length,
          },
        };
      },
      close: () => dingtalk.close(),
    };
  };
  return { envFile, apps, source };
}

main().catch((error) => {
  process.stderr.write(`chaos failed: ${error instanceof Error ? error.stack : error}\n`);
  process.exitCode = 1;
});
