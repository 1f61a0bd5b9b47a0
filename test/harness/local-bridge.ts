// Starts a real `wrangler dev` on 127.0.0.1 for end-to-end tests, benchmarks and the chaos run,
// and stops or kills it.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");

export interface LocalBridge {
  url: string;
  port: number;
  persistDir: string;
  /** The process group leader: wrangler, with workerd below it. */
  pid: number;
  /** SIGTERM and wait; `kill("SIGKILL")` for a crash. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  output(): string;
}

export interface BridgeOptions {
  vars?: Record<string, string>;
  persistDir?: string;
  port?: number;
  /** Another wrangler config, e.g. the benchmark's baseline Worker. */
  config?: string;
  envFile?: string;
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

export async function startBridge(options: BridgeOptions = {}): Promise<LocalBridge> {
  const port = options.port ?? (await freePort());
  const persistDir = options.persistDir ?? mkdtempSync(join(tmpdir(), "dtbridge-e2e-"));
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
      WRANGLER_SEND_METRICS: "false",
      WRANGLER_SEND_ERROR_REPORTS: "false",
      WRANGLER_HIDE_BANNER: "true",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
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
    output: () => log,
    stop: (signal = "SIGTERM") => stopTree(child, signal),
  };
}

async function waitUntilUp(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${log()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  await stopTree(child, "SIGKILL");
  throw new Error(`wrangler dev did not answer within 60 s:\n${log()}`);
}

/** Signals a detached child's whole process group (wrangler, workerd and friends), then waits for it to go. */
export async function stopTree(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
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
  }, 5_000);
  await gone;
  clearTimeout(timer);
  // workerd may outlive wrangler for a moment; make sure the group is gone before reusing the state.
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {}
}
