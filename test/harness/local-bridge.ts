// Starts a real `wrangler dev` (or `dtbridge serve`, see BridgeOptions.runtime) on 127.0.0.1 for
// end-to-end tests, benchmarks and the chaos run, and stops or kills it.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BridgeOptions,
  defaultRuntime,
  freePort,
  type LocalBridge,
  ROOT,
  stopTree,
  WRANGLER_OFFLINE_ENV,
  waitUntilUp,
} from "./processes";
import { startServe } from "./serve-bridge";

export { type BridgeOptions, type BridgeRuntime, defaultRuntime, freePort, type LocalBridge, ROOT, stopTree } from "./processes";

export async function startBridge(options: BridgeOptions = {}): Promise<LocalBridge> {
  // A port found free may be taken by another process (npm test runs suites side by side) before the
  // runtime binds it: then other ports, unless the caller chose this one.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, options.port ?? (await freePort()));
    } catch (error) {
      if (options.port !== undefined || attempt === 3 || !/Address already in use|EADDRINUSE/i.test(String(error))) throw error;
    }
  }
}

async function startOnce(options: BridgeOptions, port: number): Promise<LocalBridge> {
  const persistDir = options.persistDir ?? mkdtempSync(join(tmpdir(), "dtbridge-e2e-"));
  if ((options.runtime ?? defaultRuntime()) === "serve") return startServe({ ...options, port, persistDir });
  const args = [
    "wrangler",
    "dev",
    "--env-file",
    options.envFile ?? "config/local.env",
    ...(options.config ? ["--config", options.config] : []),
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--persist-to",
    persistDir,
    "--inspector-port",
    String(await freePort()),
    "--show-interactive-dev-session=false",
    "--log-level",
    "warn",
  ];
  for (const [k, v] of Object.entries(options.vars ?? {})) args.push("--var", `${k}:${v}`);
  const child = spawn(join(ROOT, "node_modules/.bin", args[0]!), args.slice(1), {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      ...WRANGLER_OFFLINE_ENV,
      CI: "true",
    },
  });
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(url, child, () => log);
  return {
    url,
    port,
    persistDir,
    pid: child.pid!,
    groups: () => [child.pid!],
    output: () => log,
    stop: (signal = "SIGTERM") => stopTree(child, signal),
  };
}
