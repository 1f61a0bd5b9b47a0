// dtbridge serve through what a host does to it: links that start at boot with no request at all,
// a kill -9 that leaves its workerd running, a restart that carries on (the link back within its
// budget, overdue alarms fired, nothing acknowledged lost), and backup and restore.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isWorkerdOf, readLock } from "../../src/cli/serve/lock";
import { robotSign } from "../../src/dingtalk/robot-sign";
import { sampleRobotMessage } from "../../src/dingtalk/sample-messages";
import { cliEnv, LOCAL, ndjson, runCli, startCli } from "../harness/cli";
import { type FakeDingTalk, startFakeDingTalk } from "../harness/fake-dingtalk/index.ts";
import { freePort, type LocalBridge, startBridge } from "../harness/local-bridge";
import { SERVE_ARGS, serveEnvironment } from "../harness/serve-bridge";

const CLIENT_ID = "ding-boot";
let dingtalk: FakeDingTalk;
let settings: Record<string, string>;
beforeAll(async () => {
  dingtalk = await startFakeDingTalk({
    apps: [{ clientId: CLIENT_ID, clientSecret: LOCAL.secret }],
    pingIntervalMs: 1_000,
    redeliverAfterMs: 1_000,
    maxRedeliveries: 30,
  });
  const app = { clientId: CLIENT_ID, clientSecret: LOCAL.secret, consumerTokens: [LOCAL.token], streamLink: true };
  settings = { DINGTALK_API_BASE: dingtalk.url, BRIDGE_APPS: JSON.stringify({ boot: app }) };
});
/** Every data directory a serve was started on here, so that a failing test leaves no runtime behind. */
const started = new Set<string>();
afterAll(async () => {
  for (const dir of started) {
    const lock = readLock(dir);
    for (const pid of [lock?.pid, lock?.workerdPid]) if (pid && (pid === lock?.pid || isWorkerdOf(dir, pid))) killQuietly(pid);
  }
  await dingtalk?.close();
});

function killQuietly(pid: number) {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => boolean, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
const liveLinks = () => dingtalk.connections(CLIENT_ID).filter((c) => c.state === "open");
const opens = () => dingtalk.opens.filter((o) => o.kind === "ticket" && o.clientId === CLIENT_ID).length;

/** serve started as the image starts it, and nothing else: no request from here until the link is up. */
function startServe(dataDir: string, port: number) {
  started.add(dataDir);
  return startCli([...SERVE_ARGS], { ...process.env, ...settings, ...serveEnvironment(port, "127.0.0.1", dataDir) });
}

async function callback(url: string, message: Record<string, unknown>): Promise<number> {
  const timestamp = String(Date.now());
  const res = await fetch(`${url}/dingtalk/boot/robot`, {
    method: "POST",
    headers: { "content-type": "application/json", timestamp, sign: await robotSign(LOCAL.secret, timestamp) },
    body: JSON.stringify(message),
  });
  return res.status;
}

async function drainAll(url: string, expected: number): Promise<any[]> {
  const got: any[] = [];
  for (let i = 0; i < 40 && got.length < expected; i++) {
    const res = await runCli(["tail", "--once", "--consumer", "recovery-gw"], cliEnv(url, { DTBRIDGE_APP: "boot" }));
    got.push(...ndjson(res.stdout));
    if (got.length < expected) await sleep(250);
  }
  return got;
}

describe("dtbridge serve after a kill -9", () => {
  it("starts the link at boot, ends the workerd a killed serve left, and carries on: link back, alarms fired, nothing lost", async () => {
    const data = mkdtempSync(join(tmpdir(), "dtbridge-recovery-"));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let serve = startServe(data, port);
    await until("the link, opened at boot with no request made", () => liveLinks().length === 1);
    expect(opens()).toBe(1);

    // Acknowledged before the crash: Stream messages acked to DingTalk, callbacks answered 200.
    const before = Array.from({ length: 5 }, (_, i) => dingtalk.sendRobotMessage(sampleRobotMessage({}, i), { clientId: CLIENT_ID }).msgId);
    const callbacks = Array.from({ length: 5 }, (_, i) => sampleRobotMessage({}, 100 + i));
    for (const m of callbacks) expect(await callback(url, m)).toBe(200);
    await until("DingTalk's acks", () => before.every((id) => dingtalk.acked(id)));
    // A send DingTalk fails once: kept in the outbox, retried from the alarm 5 s later.
    dingtalk.failNext("groupSend", 1, { status: 503 });
    const queued = await runCli(
      ["send", "--to-conversation", "cid-recovery", "--text", "after the crash"],
      cliEnv(url, { DTBRIDGE_APP: "boot" }),
    );
    expect(JSON.parse(queued.stdout)).toMatchObject({ state: "queued" });
    const queuedAt = Date.now();

    const workerdPid = readLock(data)!.workerdPid!;
    const killed = new Promise((r) => serve.child.once("exit", r)); // not "close": the orphan holds the pipes
    process.kill(serve.child.pid!, "SIGKILL");
    await killed;
    // The runtime outlives its parent; frozen here, as a hung one would be, so that the retry
    // comes due while nothing runs it.
    expect(isWorkerdOf(data, workerdPid)).toBe(true);
    process.kill(workerdPid, "SIGSTOP");
    const during = Array.from(
      { length: 3 },
      (_, i) => dingtalk.sendRobotMessage(sampleRobotMessage({}, 200 + i), { clientId: CLIENT_ID }).msgId,
    );
    await sleep(Math.max(0, queuedAt + 5_500 - Date.now()));

    serve = startServe(data, port);
    await until("the link back", () => liveLinks().length >= 1 && dingtalk.connections(CLIENT_ID).some((c) => c.openedAt > queuedAt));
    expect(isWorkerdOf(data, workerdPid)).toBe(false);
    // The overdue retry went out with no request asking for it.
    await until("the queued send", () => dingtalk.robotSends.some((s) => s.body?.openConversationId === "cid-recovery"), 10_000);

    const events = await drainAll(url, 13);
    const got = new Set(events.map((e) => e.payload.msgId));
    expect([...before, ...during, ...callbacks.map((m) => m.msgId as string)].filter((id) => !got.has(id))).toEqual([]);
    expect(opens()).toBeLessThanOrEqual(3); // the link's budget: 3 opens in any 10 minutes
    expect(dingtalk.violations).toEqual([]);
    const fate = await runCli(
      ["send", "--to-conversation", "cid-recovery", "--text", "after the crash"],
      cliEnv(url, { DTBRIDGE_APP: "boot" }),
    );
    expect(JSON.parse(fate.stdout)).toMatchObject({ state: "sent" });

    process.kill(serve.child.pid!, "SIGTERM");
    const stopped = await serve.done;
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toContain(`ending the workerd (pid ${workerdPid}) a killed dtbridge serve left running`);
  });
});

describe("dtbridge backup and restore", () => {
  let bridge: LocalBridge;
  afterAll(async () => {
    await bridge?.stop();
  });

  it("copies a running bridge, and a restore brings that state back, working", async () => {
    bridge = await startBridge({ runtime: "serve" });
    const env = cliEnv(bridge.url);
    const simulate = async (n: number) =>
      ndjson((await runCli(["simulate", "--count", String(n), "--ndjson"], env)).stdout).map((l) => l.msgId as string);
    const kept = await simulate(30);
    const out = join(mkdtempSync(join(tmpdir(), "dtbridge-backup-")), "bridge.tar.gz");
    const backup = await runCli(["backup", "--data", bridge.persistDir, "--out", out], env);
    expect(backup.code, backup.stderr).toBe(0);
    const report = JSON.parse(backup.stdout);
    expect(report).toMatchObject({ file: out, live: true });
    expect(report.pauseMs).toBeLessThan(1_000);
    expect(backup.stderr).toMatch(/stood still for [\d.]+ ms while \d+ files were copied/);

    const later = await simulate(20); // after the backup: not in it
    expect((await runCli(["restore", "--data", bridge.persistDir, "--from", out], env)).code).toBe(1); // serve holds it
    await bridge.stop();
    const restored = await runCli(["restore", "--data", bridge.persistDir, "--from", out], env);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stderr).toContain("kept what");

    bridge = await startBridge({ runtime: "serve", persistDir: bridge.persistDir });
    const restarted = cliEnv(bridge.url);
    const newer = ndjson((await runCli(["simulate", "--count", "2", "--ndjson"], restarted)).stdout).map((l) => l.msgId as string);
    const events = ndjson((await runCli(["tail", "--once"], restarted)).stdout).map((e) => e.payload.msgId as string);
    expect(events.sort()).toEqual([...kept, ...newer].sort());
    expect(events.filter((id) => later.includes(id))).toEqual([]);

    // A damaged archive is refused before anything moves.
    const damaged = join(mkdtempSync(join(tmpdir(), "dtbridge-backup-")), "cut.tar.gz");
    writeFileSync(damaged, readFileSync(out).subarray(0, 200));
    await bridge.stop();
    const refused = await runCli(["restore", "--data", bridge.persistDir, "--from", damaged], env);
    expect(refused.code).toBe(1);
  });
});
