// What every way of running a local bridge shares: free ports, waiting for it to answer, stopping
// a process tree.
import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");

/** Wrangler calls home unless told not to: every wrangler this harness starts gets these. */
export const WRANGLER_OFFLINE_ENV = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
} as const;

export interface LocalBridge {
  url: string;
  port: number;
  persistDir: string;
  /** The process group leader: wrangler with workerd below it, or dtbridge serve. */
  pid: number;
  /** Every process group the runtime runs in (serve starts workerd in a group of its own). */
  groups(): number[];
  /** SIGTERM and wait; `kill("SIGKILL")` for a crash. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  output(): string;
}

export interface BridgeOptions {
  vars?: Record<string, string>;
  persistDir?: string;
  port?: number;
  /** Another wrangler config, e.g. the benchmark's baseline Worker (wrangler dev only). */
  config?: string;
  envFile?: string;
  /**
   * `wrangler` (`wrangler dev`, the default) or `serve` (`dtbridge serve`: the production bundle on
   * bare workerd). BRIDGE_RUNTIME in the environment sets the default, so a test file can run
   * against either unchanged.
   */
  runtime?: BridgeRuntime;
}

export type BridgeRuntime = "wrangler" | "serve";

/** The runtime a test run asked for: BRIDGE_RUNTIME=serve, or wrangler dev. */
export function defaultRuntime(): BridgeRuntime {
  return process.env.BRIDGE_RUNTIME === "serve" ? "serve" : "wrangler";
}

/** Ports this process has handed out: the OS may offer a closed one again before its user binds it. */
const handedOut = new Set<number>();

/** A port nothing listens on, never one this process handed out before (the bridge and its inspector each take one). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolvePort, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolvePort(port));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

export async function waitUntilUp(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the bridge exited early:\n${log()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  await stopTree(child, "SIGKILL");
  throw new Error(`the bridge did not answer within 60 s:\n${log()}`);
}

/** Signals a detached child's whole process group (wrangler, workerd and friends), then waits for it to go. */
export async function stopTree(child: ChildProcess, signal: NodeJS.Signals, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once("exit", () => r()));
  try {
    process.kill(-child.pid!, signal);
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {}
  }, graceMs);
  await gone;
  clearTimeout(timer);
  // workerd may outlive wrangler for a moment; make sure the group is gone before reusing the state.
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {}
}
