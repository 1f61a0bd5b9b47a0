// Ordering end to end (issue 18): a real `wrangler dev`, signed callbacks for 30 interleaved
// conversations, and two gateway processes draining with the published client (concurrency 4,
// random handler times) that record when each handler starts and ends. Every message is handled
// exactly once, each conversation in the order DingTalk sent it, and no two handlers of one
// conversation ever run at once, whichever consumer runs them. Then again with one gateway killed
// with kill -9 mid-run and never restarted: its leases come back when they expire, and the other
// gateway finishes its conversations. What "in order" means across a kill is in
// test/harness/ordering-check.ts: first completions follow seq; only what the dead gateway had
// started (cut off, or finished with its ack lost) runs again.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { robotSign } from "../../src/dingtalk/robot-sign";
import { sampleRobotMessage } from "../../src/dingtalk/sample-messages";
import { LOCAL } from "../harness/cli";
import { DeliveryLog, type GatewayRun } from "../harness/delivery-log";
import { monoNow, startGateway } from "../harness/gateway";
import { type LocalBridge, ROOT, startBridge, stopTree } from "../harness/local-bridge";
import { checkOrdering } from "../harness/ordering-check";

const CONVERSATIONS = 30;
const PER_CONVERSATION = 8;
/** Sent before the gateways start, so pulls find several events of one conversation at once. */
const BACKLOG = 90;
/** Short, so the killed gateway's conversations come back within the test's time. */
const LEASE_MS = 2_000;

let bridge: LocalBridge;
let work: string;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "dtbridge-ordering-"));
  const app = (clientId: string) => ({ clientId, clientSecret: LOCAL.secret, consumerTokens: [LOCAL.token] });
  const envFile = join(work, "ordering.env");
  writeFileSync(
    envFile,
    `${readFileSync(join(ROOT, "config/local.env"), "utf8")}\nBRIDGE_APPS=${JSON.stringify({ calm: app("ding-calm"), crash: app("ding-crash") })}\n`,
  );
  bridge = await startBridge({ envFile });
});
afterAll(async () => {
  await bridge?.stop();
});

interface Planned {
  conversation: string;
  /** The message's place in its conversation, as DingTalk sent them. */
  n: number;
}

/** Round n sends each conversation's n-th message, the conversations in a new order each round. */
function interleaved(): Planned[] {
  const plan: Planned[] = [];
  for (let n = 0; n < PER_CONVERSATION; n++) {
    const order = Array.from({ length: CONVERSATIONS }, (_, c) => ({ c, k: Math.random() })).sort((a, b) => a.k - b.k);
    for (const { c } of order) plan.push({ conversation: `cid-order-${c}`, n });
  }
  return plan;
}

let lastTimestamp = 0;
/** Signed callbacks one at a time (so one conversation's seq follows its send order); msgId -> plan. */
async function deliver(app: string, plan: readonly Planned[], sent: Map<string, Planned>, gapMs = 0): Promise<void> {
  for (const item of plan) {
    const message = sampleRobotMessage({ msgtype: "text", conversationId: item.conversation, text: `#${item.n}` });
    lastTimestamp = Math.max(Date.now(), lastTimestamp + 1);
    const timestamp = String(lastTimestamp);
    const res = await fetch(`${bridge.url}/dingtalk/${app}/robot`, {
      method: "POST",
      headers: { "content-type": "application/json", timestamp, sign: await robotSign(LOCAL.secret, timestamp) },
      body: JSON.stringify(message),
    });
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    sent.set(message.msgId as string, item);
    if (gapMs) await sleep(gapMs);
  }
}

async function status(app: string): Promise<any> {
  const res = await fetch(`${bridge.url}/v1/${app}/status`, { headers: { authorization: `Bearer ${LOCAL.token}` } });
  return await res.json();
}

async function until(app: string, what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; status: ${JSON.stringify(await status(app)).slice(0, 1500)}`);
    await sleep(20);
  }
}

/** The bridge numbered each conversation's messages in the order DingTalk sent them. */
function expectSeqInSendOrder(runs: readonly GatewayRun[], sent: ReadonlyMap<string, Planned>): void {
  const seqs = new Map<string, number>();
  for (const r of runs) seqs.set(`${r.conversation} ${sent.get(r.msgId)!.n}`, r.seq);
  for (let c = 0; c < CONVERSATIONS; c++) {
    const inSendOrder = Array.from({ length: PER_CONVERSATION }, (_, n) => seqs.get(`cid-order-${c} ${n}`)!);
    expect(inSendOrder).toEqual([...inSendOrder].sort((a, b) => a - b));
  }
}

function gateway(app: string, consumer: string, log: DeliveryLog) {
  return startGateway({ url: bridge.url, token: LOCAL.token, app, consumer, outFile: log.file, leaseMs: LEASE_MS, handlerMs: 40 });
}

describe("two gateway processes over 30 interleaved conversations", () => {
  it("handle every message exactly once, in order per conversation, never two handlers of one conversation at once", async () => {
    const plan = interleaved();
    const sent = new Map<string, Planned>();
    await deliver("calm", plan.slice(0, BACKLOG), sent);
    const log = new DeliveryLog(join(work, "calm.ndjson"));
    const gateways = [gateway("calm", "gw-a", log), gateway("calm", "gw-b", log)];
    await deliver("calm", plan.slice(BACKLOG), sent, 5);
    await until("calm", "every message handled", () => log.firstAt.size === sent.size);
    await Promise.all(gateways.map((g) => stopTree(g, "SIGTERM")));
    log.stop();

    const runs = log.runs();
    expect(runs.filter((r) => r.end === null)).toEqual([]);
    expect(runs).toHaveLength(CONVERSATIONS * PER_CONVERSATION);
    expect(new Set(runs.map((r) => r.msgId))).toEqual(new Set(sent.keys()));
    for (const r of runs) expect(r.key).toBe(r.conversation);
    const report = checkOrdering(runs, []);
    expect(report).toMatchObject({ conversations: CONVERSATIONS, overlaps: [], outOfOrder: [], unexplainedReruns: [], reruns: 0 });
    expectSeqInSendOrder(runs, sent);
    // Both did real work, and at least one conversation passed from one to the other between turns.
    expect(new Set(runs.map((r) => r.consumer))).toEqual(new Set(["gw-a", "gw-b"]));
    const consumersOf = (c: string) => new Set(runs.filter((r) => r.conversation === c).map((r) => r.consumer)).size;
    expect(runs.some((r) => consumersOf(r.conversation) > 1)).toBe(true);
    expect(await status("calm")).toMatchObject({ depth: 0, leased: 0, orderingKeysHeld: 0 });
  });

  it("again with one killed by kill -9 mid-run: every message completed, only its unfinished work run again, order and exclusivity kept", async () => {
    const plan = interleaved();
    const sent = new Map<string, Planned>();
    await deliver("crash", plan.slice(0, BACKLOG), sent);
    const log = new DeliveryLog(join(work, "crash.ndjson"));
    const victim = gateway("crash", "gw-victim", log);
    const survivor = gateway("crash", "gw-survivor", log);
    const victimPid = victim.pid!;
    const sending = deliver("crash", plan.slice(BACKLOG), sent, 10);
    const completedByVictim = () => log.runs().filter((r) => r.pid === victimPid && r.end !== null).length;
    await until("crash", "the victim inside a handler", () => {
      log.read();
      return completedByVictim() >= 20 && log.running(victimPid) > 0;
    });
    const at = monoNow();
    await stopTree(victim, "SIGKILL");
    const kill = { pid: victimPid, at, over: monoNow() };
    await sending;
    await until("crash", "every message handled", () => log.firstAt.size === sent.size);
    await stopTree(survivor, "SIGTERM");
    log.stop();

    const runs = log.runs();
    expect(new Set(runs.filter((r) => r.end !== null).map((r) => r.msgId))).toEqual(new Set(sent.keys()));
    const report = checkOrdering(runs, [kill]);
    expect(report).toMatchObject({ conversations: CONVERSATIONS, overlaps: [], outOfOrder: [], unexplainedReruns: [] });
    expectSeqInSendOrder(runs, sent);
    // The kill cut handlers off mid-run; nothing ran in the victim after it.
    const cut = runs.filter((r) => r.end === null);
    expect(cut.length).toBeGreaterThan(0);
    expect(cut.every((r) => r.pid === victimPid)).toBe(true);
    expect(runs.filter((r) => r.pid === victimPid).every((r) => r.start < kill.at)).toBe(true);
    // A message ran more than once only if the victim had started it: the survivor then completed it after the kill.
    for (const msgId of sent.keys()) {
      const ofMessage = runs.filter((r) => r.msgId === msgId);
      if (ofMessage.length === 1) continue;
      expect(
        ofMessage.filter((r) => r.pid !== victimPid),
        msgId,
      ).toHaveLength(1);
      expect(ofMessage.find((r) => r.pid !== victimPid)!.start).toBeGreaterThan(kill.over);
    }
    for (const r of cut) expect(runs.some((x) => x.msgId === r.msgId && x.pid !== victimPid && x.end !== null)).toBe(true);
    expect(await status("crash")).toMatchObject({ depth: 0, leased: 0, orderingKeysHeld: 0 });
  });
});
