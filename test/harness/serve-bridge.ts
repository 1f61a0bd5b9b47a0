// Runs the bridge as `dtbridge serve`: the production bundle on bare workerd, started exactly as the
// Dockerfile's entry point starts it (the same arguments; settings and the flags' defaults in the
// environment, as `docker run --env-file` or compose's env_file hand them over).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseEnv } from "node:util";
import { isWorkerdOf, readLock } from "../../src/cli/serve/lock";
import { type BridgeOptions, type LocalBridge, ROOT, stopTree, waitUntilUp } from "./processes";

/** The built command line tool, as the package ships it. */
export const DTBRIDGE_JS = join(ROOT, "dist/dtbridge.js");

/** serve's arguments after the script: none, since everything comes from the environment. */
export const SERVE_ARGS = ["serve"] as const;

/** What serve reads its port, address and data directory from, in the image as in the tests. */
export function serveEnvironment(port: number, host: string, dataDir: string): Record<string, string> {
  return { PORT: String(port), HOST: host, DTBRIDGE_DATA: dataDir };
}

/** workerd processes a serve killed with SIGKILL left behind, for the next serve on that directory to end. */
const orphans = new Map<number, string>();
process.once("exit", () => {
  for (const [pid, dir] of orphans) if (isWorkerdOf(dir, pid)) process.kill(pid, "SIGKILL");
});

export async function startServe(options: BridgeOptions & { port: number; persistDir: string }): Promise<LocalBridge> {
  if (options.config) throw new Error("dtbridge serve runs the bridge only; start other Workers on bare workerd (bench/workerd.ts)");
  const { port, persistDir } = options;
  const file = parseEnv(readFileSync(resolve(ROOT, options.envFile ?? "config/local.env"), "utf8")) as Record<string, string>;
  const child = spawn(process.execPath, [DTBRIDGE_JS, ...SERVE_ARGS], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...file, ...options.vars, ...serveEnvironment(port, "127.0.0.1", persistDir) },
  });
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(url, child, () => log);
  const workerdPid = readLock(persistDir)?.workerdPid;
  return {
    url,
    port,
    persistDir,
    pid: child.pid!,
    groups: () => [child.pid!, ...(workerdPid ? [workerdPid] : [])],
    output: () => log,
    async stop(signal = "SIGTERM") {
      // SIGKILL hits serve alone: its workerd lives on, and the next serve on the directory must end it.
      if (signal === "SIGKILL") {
        await stopTree(child, signal);
        if (workerdPid && isWorkerdOf(persistDir, workerdPid)) orphans.set(workerdPid, persistDir);
        return;
      }
      // serve stops workerd and itself within 10 s; past that, this is a failure to see, not to hide.
      await stopTree(child, signal, 12_000);
      if (workerdPid && isWorkerdOf(persistDir, workerdPid)) {
        process.kill(workerdPid, "SIGKILL");
        throw new Error(`dtbridge serve left its workerd (pid ${workerdPid}) running:\n${log}`);
      }
    },
  };
}
