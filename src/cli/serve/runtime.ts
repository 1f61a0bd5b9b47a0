// workerd as serve's child: started in a process group of its own (so a terminal's Ctrl-C reaches
// serve, which stops it in order), ready once its control channel reports the socket listening.
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

/** The package's dist/ directory: this file is bundled into dist/dtbridge.js. */
const DIST = dirname(fileURLToPath(import.meta.url));
export const WORKER_DIR = join(DIST, "worker");

/** The workerd binary of the `workerd` package this one depends on (the API miniflare uses too). */
export function workerdBinary(): string {
  const workerd = createRequire(import.meta.url)("workerd") as { default: string };
  return workerd.default;
}

export interface Runtime {
  child: ChildProcess;
  /** The port workerd listens on (the one asked for, or the one the system gave for 0). */
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `onSpawn` learns workerd's pid at once, before it listens, so that no crash can leave it unrecorded. */
export async function startRuntime(
  configPath: string,
  env: NodeJS.ProcessEnv,
  onSpawn: (pid: number) => void = () => {},
  timeoutMs = 30_000,
): Promise<Runtime> {
  const child = spawn(workerdBinary(), ["serve", configPath, "--control-fd=3"], {
    detached: true,
    // The Worker's logs (one JSON object per line) go to serve's stdout, workerd's own to stderr.
    stdio: ["ignore", "inherit", "inherit", "pipe"],
    env,
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const spawned = new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  await spawned;
  onSpawn(child.pid!);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`workerd did not start listening within ${timeoutMs / 1000} s`)), timeoutMs);
    createInterface({ input: child.stdio[3] as Readable }).on("line", (line) => {
      try {
        const message = JSON.parse(line) as { event?: string; socket?: string; port?: number };
        if (message.event === "listen" && message.socket === "http" && message.port) {
          clearTimeout(timer);
          resolve(message.port);
        }
      } catch {
        // not a control message
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`workerd exited before listening (${signal ?? `code ${code}`}); its message is above`));
    });
  });
  return { child, port, exited };
}

/**
 * SIGTERM, then SIGKILL once `graceMs` has passed: workerd waits for open requests on SIGTERM, and
 * a long poll may hold one for 25 s. A kill loses nothing acknowledged: every commit is on disk
 * before its answer leaves.
 */
export async function stopRuntime(runtime: Runtime, graceMs: number): Promise<void> {
  const { child } = runtime;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await runtime.exited;
  clearTimeout(timer);
}
