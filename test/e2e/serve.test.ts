// dtbridge serve as an operator meets it: settings refused by name at start, one process per data
// directory, a clean stop on SIGTERM with a long poll open, and the Dockerfile running exactly
// what these tests run.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isWorkerdOf, readLock } from "../../src/cli/serve/lock";
import { LOCAL, runCli } from "../harness/cli";
import { freePort, type LocalBridge, ROOT, startBridge } from "../harness/local-bridge";
import { DTBRIDGE_JS, SERVE_ARGS, serveEnvironment } from "../harness/serve-bridge";

const bridges: LocalBridge[] = [];
afterAll(async () => {
  await Promise.all(bridges.map((b) => b.stop()));
});

const tempDir = () => mkdtempSync(join(tmpdir(), "dtbridge-serve-"));
/** An environment without the test runner's own settings, if it has any. */
const bare = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH ?? "", ...extra });

function envFile(lines: string[]): string {
  const file = join(tempDir(), "bridge.env");
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

describe("dtbridge serve refuses what cannot work, before anything starts", () => {
  const SECRET = "s3cret-that-must-never-be-printed";

  it("names a malformed setting and exits 1, never printing a value", async () => {
    const cases: [string[], string][] = [
      [["DINGTALK_CLIENT_ID=ding1", `DINGTALK_CLIENT_SECRET=${SECRET}`, "BRIDGE_CONSUMER_TOKENS=has a space"], "BRIDGE_CONSUMER_TOKENS"],
      [["DINGTALK_CLIENT_ID=ding1", `DINGTALK_CLIENT_SECRET=${SECRET}`, "BRIDGE_CONSUMER_TOKENS=t1", "LEASE_MS=soon"], "LEASE_MS"],
      [["DINGTALK_CLIENT_ID=ding1", "BRIDGE_CONSUMER_TOKENS=t1"], "DINGTALK_CLIENT_SECRET"],
      [[`BRIDGE_APPS={"ops": {"clientId": "d", "clientSecret": "${SECRET}", "consumerTokens": []}}`], "BRIDGE_APPS.ops.consumerTokens"],
      [["STREAM_LINK=maybe", "DINGTALK_CLIENT_ID=ding1", `DINGTALK_CLIENT_SECRET=${SECRET}`, "BRIDGE_CONSUMER_TOKENS=t1"], "STREAM_LINK"],
      [[], "DINGTALK_CLIENT_ID"],
    ];
    const data = tempDir();
    const results = await Promise.all(
      cases.map(([lines]) => runCli(["serve", "--env-file", envFile(lines), "--data", data, "--port", "0"], bare())),
    );
    for (const [i, res] of results.entries()) {
      const [, setting] = cases[i]!;
      expect(res.code, res.stderr).toBe(1);
      expect(res.stderr).toContain(`refusing to start: ${setting}`);
      expect(res.stderr + res.stdout).not.toContain(SECRET);
      expect(res.stderr).not.toContain("has a space");
    }
    expect(readLock(data)).toBeNull(); // nothing was started, nothing is held
  });

  it("lets the environment win over the env file, warns of names it does not know, and answers usage errors with 2", async () => {
    const file = envFile(["DINGTALK_CLIENT_ID=ding1", "DINGTALK_CLIENT_SECRET=x", "BRIDGE_CONSUMER_TOKENS=has a space", "STREAMLINK=on"]);
    const port = await freePort();
    const serve = spawn(process.execPath, [DTBRIDGE_JS, "serve", "--env-file", file, "--port", String(port), "--data", tempDir()], {
      env: bare({ BRIDGE_CONSUMER_TOKENS: "from-the-environment" }),
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    serve.stderr!.on("data", (d) => (stderr += d));
    const exited = new Promise((r) => serve.once("exit", r));
    for (let i = 0; i < 200 && !stderr.includes("health:"); i++) await new Promise((r) => setTimeout(r, 50));
    const status = await fetch(`http://127.0.0.1:${port}/v1/default/status`, { headers: { authorization: "Bearer from-the-environment" } });
    expect(status.status).toBe(200);
    serve.kill("SIGTERM");
    await exited;
    expect(stderr).toContain("ignoring STREAMLINK from the env file: not a setting the bridge reads");

    expect((await runCli(["serve", "--port", "http"], bare())).code).toBe(2);
    expect((await runCli(["serve", "--frobnicate"], bare())).code).toBe(2);
    // Node 20 reads --env-file itself, even after the script's name (exit 9, its own message); later Nodes leave it to serve (exit 2).
    const missing = await runCli(["serve", "--env-file", "/nonexistent/bridge.env"], bare());
    expect([2, 9]).toContain(missing.code);
    expect(missing.stderr).toContain("/nonexistent/bridge.env");
    for (const cmd of ["serve", "backup", "restore"]) {
      const help = await runCli([cmd, "--help"], bare());
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`dtbridge ${cmd}`);
    }
  });
});

describe("one dtbridge serve per data directory", () => {
  it("refuses a second serve on the directory, naming it, and takes over the lock of one that is gone", async () => {
    const first = await startBridge({ runtime: "serve" });
    bridges.push(first);
    const local = join(ROOT, "config/local.env");
    const second = await runCli(["serve", "--env-file", local, "--port", String(await freePort()), "--data", first.persistDir], bare());
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`the data directory ${first.persistDir} is in use by dtbridge serve (pid ${first.pid})`);
    // backup's cold path and restore take the same lock.
    expect((await runCli(["restore", "--data", first.persistDir, "--from", join(ROOT, "package.json")], bare())).code).toBe(1);

    // A lock whose holder died without cleaning up (a kill -9, a power cut) is taken over.
    const data = tempDir();
    const dead = spawn("true");
    await new Promise((r) => dead.once("exit", r));
    writeFileSync(join(data, "serve.lock"), JSON.stringify({ pid: dead.pid, command: "serve", startedAt: "then", workerdPid: dead.pid }));
    const next = await startBridge({ runtime: "serve", persistDir: data });
    expect(next.output()).toContain(`took over the lock of a dtbridge that is gone (pid ${dead.pid})`);

    // A serve killed before its lock named its runtime (or a lock deleted by hand): the runtime
    // still running on the files is found by its configuration's path, and ended.
    const orphan = readLock(data)!.workerdPid!;
    await next.stop("SIGKILL");
    unlinkSync(join(data, "serve.lock"));
    const after = await startBridge({ runtime: "serve", persistDir: data });
    bridges.push(after);
    expect(after.output()).toContain(`ending the workerd (pid ${orphan}) a killed dtbridge serve left running on ${data}`);
    expect(isWorkerdOf(data, orphan)).toBe(false);
  });
});

describe("dtbridge serve stops on SIGTERM", () => {
  it("within 10 s with a long poll open, and leaves no workerd behind", async () => {
    const bridge = await startBridge({ runtime: "serve" });
    const workerdPid = readLock(bridge.persistDir)!.workerdPid!;
    expect(isWorkerdOf(bridge.persistDir, workerdPid)).toBe(true);
    const poll = fetch(`${bridge.url}/v1/default/pull`, {
      method: "POST",
      headers: { authorization: `Bearer ${LOCAL.token}`, "content-type": "application/json" },
      body: JSON.stringify({ consumer: "waiting", waitMs: 25_000 }),
    }).catch(() => null);
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await bridge.stop("SIGTERM");
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(isWorkerdOf(bridge.persistDir, workerdPid)).toBe(false);
    expect(readLock(bridge.persistDir)).toBeNull();
    await poll;
  });
});

describe("the Dockerfile", () => {
  it("runs exactly the command these tests start: the packed package's dtbridge serve, settings from the environment", () => {
    const stage = readFileSync(join(ROOT, "Dockerfile"), "utf8")
      .split(/^FROM /m)
      .at(-1)!;
    const instruction = (name: string) =>
      [...stage.replace(/\\\n/g, " ").matchAll(new RegExp(`^${name} (.+)$`, "gm"))].map((m) => m[1]!.trim());
    const entrypoint = JSON.parse(instruction("ENTRYPOINT")[0]!) as string[];
    const cmd = instruction("CMD").map((c) => JSON.parse(c) as string[])[0] ?? [];
    const env = Object.fromEntries(instruction("ENV").flatMap((line) => line.split(/\s+/).map((pair) => pair.split("=", 2))));
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

    // The harness: node <package>/dist/dtbridge.js serve, with PORT, HOST and DTBRIDGE_DATA set.
    expect(DTBRIDGE_JS).toBe(join(ROOT, pkg.bin.dtbridge));
    expect([...entrypoint, ...cmd]).toEqual(["node", `/usr/local/lib/node_modules/${pkg.name}/${pkg.bin.dtbridge}`, ...SERVE_ARGS]);
    expect(env).toEqual(serveEnvironment(8787, "0.0.0.0", "/data"));
    expect(instruction("VOLUME")).toEqual([env.DTBRIDGE_DATA]);
    expect(instruction("EXPOSE")).toEqual([env.PORT]);
    expect(stage).toMatch(/npm install --global --omit=dev .*\/tmp\/dingtalk-fallback-bridge-\*\.tgz/);
  });
});
