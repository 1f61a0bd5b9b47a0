// dtbridge end to end: simulate into tail, a consumer killed mid-lease, a failing drain --exec.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, ndjson, runCli, startCli } from "../harness/cli";
import { type LocalBridge, startBridge } from "../harness/local-bridge";

let bridge: LocalBridge;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  // Nothing answers on port 9: every send waits in the outbox for a retry.
  bridge = await startBridge({
    vars: { MAX_ATTEMPTS: "2", DINGTALK_API_BASE: "http://127.0.0.1:9", PUBLIC_URL: "https://bridge.example.com" },
  });
  env = cliEnv(bridge.url);
});
afterAll(async () => {
  await bridge?.stop();
});

async function status() {
  const res = await runCli(["status", "--json"], env);
  expect(res.code === 0 || res.code === 1).toBe(true);
  return JSON.parse(res.stdout);
}

describe("dtbridge", () => {
  it("simulate sends signed callbacks of every type that tail prints as NDJSON and acks", async () => {
    // PUBLIC_URL names the robot URL before any callback came.
    expect((await status()).robotUrl).toBe("https://bridge.example.com/dingtalk/default/robot");
    const sent = await runCli(["simulate", "--count", "30", "--concurrency", "4", "--ndjson"], env);
    expect(sent.code).toBe(0);
    const sentIds = ndjson(sent.stdout).map((l) => l.msgId);
    expect(sentIds).toHaveLength(30);
    expect(sent.stderr).toContain("30 accepted, 0 failed");

    const tailed = await runCli(["tail", "--once"], env);
    expect(tailed.code).toBe(0);
    const events = ndjson(tailed.stdout);
    expect(events.map((e) => e.payload.msgId).sort()).toEqual([...sentIds].sort());
    expect(new Set(events.map((e) => e.payload.msgtype)).size).toBe(7);
    expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((a, b) => a - b));
    expect((await status()).depth).toBe(0);

    const empty = await runCli(["tail", "--once"], env);
    expect(empty.code).toBe(6);
  });

  it("a consumer killed with SIGKILL mid-lease loses nothing: a restart with release takes its events back", async () => {
    await runCli(["simulate", "--count", "5"], env);
    const slow = startCli(["drain", "--exec", "sleep 60", "--consumer", "gw-1", "--lease", "60000", "--max", "5"], env);
    for (let i = 0; i < 100 && (await status()).leased < 5; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await status()).leased).toBe(5);
    process.kill(-slow.child.pid!, "SIGKILL");
    await slow.done;

    // Long before the 60 s leases run out, the same consumer id restarts and releases them.
    const restarted = await runCli(["tail", "--once", "--consumer", "gw-1"], env);
    const events = ndjson(restarted.stdout);
    expect(events).toHaveLength(5);
    expect(events.every((e) => e.attempt === 2)).toBe(true);
    expect((await status()).depth).toBe(0);
  });

  it("a killed consumer's events also come back by themselves when their leases expire", async () => {
    await runCli(["simulate", "--count", "3"], env);
    const slow = startCli(["drain", "--exec", "sleep 60", "--consumer", "gw-2", "--lease", "2000", "--max", "3"], env);
    for (let i = 0; i < 100 && (await status()).leased < 3; i++) await new Promise((r) => setTimeout(r, 100));
    process.kill(-slow.child.pid!, "SIGKILL");
    await slow.done;
    const other = await runCli(["tail", "--consumer", "someone-else", "--limit", "3", "--wait", "10000"], env);
    expect(ndjson(other.stdout).map((e) => e.attempt)).toEqual([2, 2, 2]);
  });

  it("drain --exec acks on exit 0, and a failing command ends in the dead letters", async () => {
    await runCli(["simulate", "--count", "2", "--text", "ok"], env);
    const good = await runCli(["drain", "--once", "--exec", "grep -q msgId"], env);
    expect(good.code).toBe(0);
    expect(good.stderr).toContain("2 acked, 0 nacked");

    await runCli(["simulate", "--count", "2"], env);
    // MAX_ATTEMPTS is 2 on this bridge: each event fails twice, then becomes a dead letter.
    const bad = await runCli(["drain", "--once", "--exec", "cat >/dev/null; exit 3", "--retry-delay", "0"], env);
    expect(bad.stderr).toContain("command exited 3");
    expect(bad.stderr).toContain("0 acked, 4 nacked");
    const dead = await runCli(["dead-letters"], env);
    const letters = ndjson(dead.stdout);
    expect(letters).toHaveLength(2);
    expect(letters[0]).toMatchObject({ state: "dead", attempt: 2, lastReason: "command exited 3" });
    expect((await status()).deadLetters).toBe(2);

    const redrive = await runCli(["dead-letters", "redrive", "--id", letters[0].id], env);
    expect(JSON.parse(redrive.stdout)).toEqual({ redriven: 1 });
    expect((await runCli(["drain", "--once", "--exec", "cat >/dev/null"], env)).stderr).toContain("1 acked");
    expect((await runCli(["dead-letters", "purge"], env)).code).toBe(2);
    const purge = await runCli(["dead-letters", "purge", "--all"], env);
    expect(JSON.parse(purge.stdout)).toEqual({ purged: 1 });
    expect((await status()).deadLetters).toBe(0);
  });

  it("Ctrl-C in a terminal lets drain --exec's running command finish, and it is acked", async () => {
    await runCli(["simulate", "--count", "1"], env);
    const run = startCli(["drain", "--exec", "cat >/dev/null; sleep 1; exit 0", "--consumer", "gw-ctrl-c"], env);
    for (let i = 0; i < 100 && (await status()).leased < 1; i++) await new Promise((r) => setTimeout(r, 50));
    // A terminal's Ctrl-C goes to the whole foreground process group.
    process.kill(-run.child.pid!, "SIGINT");
    const res = await run.done;
    expect(res.code).toBe(0);
    expect(res.stderr).toContain("1 acked, 0 nacked");
    expect((await status()).depth).toBe(0);
  });

  it("outbox lists a send DingTalk cannot take now, and cancel stops it for good", async () => {
    const queued = await runCli(["send", "--to-conversation", "cid-outbox", "--text", "later", "--key", "outbox-1"], env);
    expect(JSON.parse(queued.stdout)).toMatchObject({ state: "queued", key: "outbox-1" });
    const listed = ndjson((await runCli(["outbox", "--state", "queued"], env)).stdout);
    expect(listed.map((s) => s.key)).toEqual(["outbox-1"]);
    expect(listed[0].lastError).toBeTruthy();

    const cancel = await runCli(["outbox", "cancel", "--key", "outbox-1", "--key", "never-sent"], env);
    expect(cancel.code).toBe(1);
    expect(JSON.parse(cancel.stdout)).toEqual({ cancelled: ["outbox-1"], notQueued: ["never-sent"] });
    expect(ndjson((await runCli(["outbox", "--state", "cancelled"], env)).stdout).map((s) => s.key)).toEqual(["outbox-1"]);
    const again = await runCli(["send", "--to-conversation", "cid-outbox", "--text", "later", "--key", "outbox-1"], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("send_cancelled");
    expect((await runCli(["outbox", "--state", "lost"], env)).code).toBe(2);
    expect((await runCli(["outbox", "cancel"], env)).code).toBe(2);
  });

  it("one-shot runs end, and say why, when things are wrong", async () => {
    const down = { ...env, DTBRIDGE_URL: "http://127.0.0.1:9" };
    expect((await runCli(["tail", "--once"], down)).code).toBe(5);
    expect((await runCli(["drain", "--once", "--exec", "true"], down)).code).toBe(5);
    const wrongSecret = await runCli(["simulate", "--count", "2", "--secret", "not the secret"], env);
    expect(wrongSecret.code).toBe(3);
    expect(wrongSecret.stderr).toContain("2 × 401 bad_signature: the sign header does not match");
    const version = await runCli(["--version"], env);
    expect(version.stdout).toMatch(/^dtbridge \d+\.\d+\.\d+\n$/);
    const badUrl = await runCli(["status", "--url", "127.0.0.1:8787"], env);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain("is not a URL; it looks like http://127.0.0.1:8787");
  });

  it("exit codes tell scripts what went wrong", async () => {
    expect((await runCli(["status", "--token", "wrong"], env)).code).toBe(3);
    // An unknown app is refused like a wrong token: app names cannot be probed.
    expect((await runCli(["status", "--app", "nope"], env)).code).toBe(3);
    expect((await runCli(["status", "--url", "http://127.0.0.1:9"], env)).code).toBe(5);
    expect((await runCli(["tail", "--max", "0"], env)).code).toBe(2);
    expect((await runCli(["frobnicate"], env)).code).toBe(2);
    for (const args of [["replay"], ["replay", "--ids", "a", "--from-seq", "1"], ["replay", "--from-seq", "5", "--to-seq", "1"]]) {
      expect((await runCli(args, env)).code).toBe(2);
    }
    for (const cmd of ["tail", "drain", "forward", "send", "status", "history", "replay", "dead-letters", "outbox", "simulate"]) {
      const help = await runCli([cmd, "--help"], env);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`dtbridge ${cmd}`);
    }
  });

  it("a one-shot run waits for its own retries due within --wait, and says how many come later", async () => {
    await runCli(["simulate", "--count", "1"], env);
    const flag = join(mkdtempSync(join(tmpdir(), "dtbridge-once-")), "tried");
    const firstFails = `cat >/dev/null; test -e ${flag} || { touch ${flag}; exit 1; }`;
    const retried = await runCli(["drain", "--once", "--exec", firstFails, "--retry-delay", "300", "--wait", "5000"], env);
    expect(retried.code).toBe(0);
    expect(retried.stderr).toContain("1 acked, 1 nacked");
    // A retry due after the wait is not waited for, but said. (It stays queued: this test runs last.)
    await runCli(["simulate", "--count", "1"], env);
    const later = await runCli(["drain", "--once", "--exec", "cat >/dev/null; exit 1", "--retry-delay", "60000", "--wait", "300"], env);
    expect(later.stderr).toContain("0 acked, 1 nacked");
    expect(later.stderr).toMatch(/1 nacked event\(s\) wait for a retry, the next in (59|60) s/);
  });
});
