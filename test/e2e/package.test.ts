// The package as someone outside the clone gets it, until it is published: `npm pack`, installed into
// an empty project. Its dtbridge runs (serve included, from that directory), and a gateway's
// TypeScript compiles against its types.
import { execFile, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ROOT } from "../harness/local-bridge";

const run = promisify(execFile);

describe("the packed package, installed outside the clone", () => {
  it("runs dtbridge --help and dtbridge serve, and its types compile", async () => {
    const work = mkdtempSync(join(tmpdir(), "dtbridge-package-"));
    // dist/ is built by the npm script that runs these tests.
    const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], { cwd: ROOT });
    const [{ filename, files }] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
    const paths = files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(["dist/dtbridge.js", "dist/client.js", "dist/worker/index.js", "dist/worker/serve.json"]));
    expect(paths.filter((p) => p.startsWith("src/") || p.startsWith("test/"))).toEqual([]);

    const app = join(work, "gateway");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "gateway", private: true, type: "module" }));
    await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", join(work, filename)], { cwd: app });
    const bin = join(app, "node_modules/.bin/dtbridge");

    const help = await run(bin, ["--help"], { cwd: app });
    expect(help.stdout).toContain("serve");

    const installed = await startInstalled(bin, app);
    expect(installed.stderr).toMatch(new RegExp(`data in ${join(app, "bridge-data")}`));
    expect(installed.health).toBe(200);

    copyFileSync(join(ROOT, "test/types/consumer.ts"), join(app, "consumer.ts"));
    copyFileSync(join(ROOT, "test/types/tsconfig.json"), join(app, "tsconfig.json"));
    await run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", app]);
  });
});

/** Starts the installed dtbridge serve in `app` on a port of the system's choosing; answers its /health status, then stops it. */
async function startInstalled(bin: string, app: string): Promise<{ stderr: string; health: number }> {
  const child = spawn(bin, ["serve", "--port", "0", "--data", "bridge-data"], {
    cwd: app,
    env: { PATH: process.env.PATH, DINGTALK_CLIENT_ID: "ding1", DINGTALK_CLIENT_SECRET: "secret", BRIDGE_CONSUMER_TOKENS: "token" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once("exit", r));
  for (let i = 0; i < 300 && !/listening on .*?\((http:\/\/[^)]+)\)/.test(stderr); i++) await new Promise((r) => setTimeout(r, 50));
  const url = /listening on .*?\((http:\/\/[^)]+)\)/.exec(stderr)?.[1];
  const health = url ? (await fetch(`${url}/health`)).status : 0;
  child.kill("SIGTERM");
  expect(await exited).toBe(0);
  return { stderr, health };
}
