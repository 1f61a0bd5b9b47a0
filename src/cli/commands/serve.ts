// dtbridge serve: the production bundle on workerd, on this machine, with its SQLite files under
// --data. No wrangler and no Cloudflare account; the same settings by the same names.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs, parseEnv } from "node:util";
import { type Command, EXIT, printHelp, UsageError } from "../common";
import { dataDirOf, OBJECTS_DIR, WORKERD_CONFIG_FILE } from "../serve/layout";
import { acquireLock, DataDirBusyError } from "../serve/lock";
import type { WorkerManifest } from "../serve/manifest";
import { type Runtime, startRuntime, stopRuntime, WORKER_DIR } from "../serve/runtime";
import { checkSettings, collectSettings } from "../serve/settings";
import { workerdConfig } from "../serve/workerd-config";

const DEFAULTS = { port: 8787, host: "127.0.0.1" };
/**
 * workerd's time to finish open requests on SIGTERM before it is killed: a callback's commit and
 * answer take milliseconds, while a long poll would hold the stop for up to 25 s. The kill loses
 * nothing: whatever was acknowledged is on disk, and a poll's client simply polls again.
 */
const STOP_GRACE_MS = 3_000;
/** Without Cloudflare's cron, serve wakes every app's link this often (the links' alarms do the rest). */
const WAKE_EVERY_MS = 60_000;

const HELP = `Usage: dtbridge serve [--port 8787] [--host 127.0.0.1] [--data DIR] [--env-file FILE]

Runs the bridge on this machine: the same Worker bundle \`wrangler deploy\` uploads, on workerd (no
wrangler, no Cloudflare account), with every Durable Object's SQLite files under DIR. Put it behind
your own HTTPS domain (DingTalk calls https:// URLs only).

Options (a flag beats the environment, which beats the env file):
  --port N           port to listen on                     [PORT, default 8787; 0 picks a free one]
  --host ADDR        address to listen on                  [HOST, default 127.0.0.1; 0.0.0.0 for all]
  --data DIR         data directory; one serve at a time   [DTBRIDGE_DATA, default ./.dtbridge-data]
  --env-file FILE    settings as NAME=value lines, the same names as a deployed Worker's
                     (DINGTALK_CLIENT_ID, DINGTALK_CLIENT_SECRET, BRIDGE_CONSUMER_TOKENS, ...)
  -h, --help         this help

The settings are checked before anything starts: a malformed one is named (never its value) and
serve exits 1. It then starts the Stream links of the apps that have them and keeps them up.
SIGTERM or Ctrl-C stops it within 10 s; nothing acknowledged is lost, even by kill -9.
The Worker's logs (one JSON object per line) go to standard output, serve's progress to standard error.

Exit codes: 0 stopped by a signal, 1 could not start or the runtime failed, 2 usage.`;

export const serve: Command = {
  name: "serve",
  summary: "run the bridge on this machine (workerd, SQLite under --data)",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags(argv);
    if (values.help) return printHelp(HELP);
    const progress = (line: string) => process.stderr.write(`dtbridge serve: ${line}\n`);

    const file = values["env-file"] ? readEnvFile(values["env-file"]) : {};
    const pick = (flag: string | undefined, name: string) => flag ?? process.env[name] ?? file[name];
    const port = portOf(pick(values.port, "PORT"));
    const host = pick(values.host, "HOST") ?? DEFAULTS.host;
    const dataDir = dataDirOf(pick(values.data, "DTBRIDGE_DATA"));

    const settings = collectSettings(process.env, file);
    for (const name of settings.unknown) progress(`ignoring ${name} from the env file: not a setting the bridge reads`);
    const { problems, linkApps } = checkSettings(settings.values);
    if (problems.length) {
      for (const p of problems) process.stderr.write(`dtbridge serve: refusing to start: ${p}\n`);
      return EXIT.failure;
    }
    const manifest = readManifest();

    mkdirSync(join(dataDir, OBJECTS_DIR), { recursive: true });
    let lock: Awaited<ReturnType<typeof acquireLock>>;
    try {
      lock = await acquireLock(dataDir, "serve", progress);
    } catch (error) {
      process.stderr.write(`dtbridge serve: ${error instanceof DataDirBusyError ? error.message : (error as Error).message}\n`);
      return EXIT.failure;
    }
    const configPath = join(dataDir, WORKERD_CONFIG_FILE);
    writeFileSync(
      configPath,
      workerdConfig({
        manifest,
        bundlePath: relative(dataDir, join(WORKER_DIR, manifest.main)),
        storageDir: join(dataDir, OBJECTS_DIR),
        host,
        port,
        settings: Object.keys(settings.values),
      }),
    );

    // Installed before workerd starts, so that a stop asked for while it starts is not lost.
    let runtime: Runtime | undefined;
    let stopping = false;
    const stop = () => {
      if (stopping) return void runtime?.child.kill("SIGKILL"); // a second Ctrl-C: at once
      stopping = true;
      progress("stopping");
      if (runtime) void stopRuntime(runtime, STOP_GRACE_MS);
    };
    const signals = ["SIGTERM", "SIGINT", "SIGHUP"] as const;
    for (const signal of signals) process.on(signal, stop);
    try {
      runtime = await startRuntime(configPath, { ...process.env, ...settings.values }, (pid) => lock.update({ workerdPid: pid }));
    } catch (error) {
      for (const signal of signals) process.off(signal, stop);
      lock.release();
      progress((error as Error).message);
      return EXIT.failure;
    }
    const url = `http://${localAddress(host)}:${runtime.port}`;
    lock.update({ url });
    progress(`listening on ${host}:${runtime.port} (${url}), data in ${dataDir}`);
    if (stopping) void stopRuntime(runtime, STOP_GRACE_MS);

    // Links start at boot: the health check wakes each app's link, then again every minute, as
    // Cloudflare's cron would; each link's own alarm keeps it up in between.
    const wake = async (first: boolean) => {
      const answer = await health(url, first ? 10 : 1);
      if (!first) return;
      const links = linkApps.length ? `; Stream links started for ${linkApps.join(", ")}` : "";
      progress(answer ? `health: ${answer}${links}` : "the health check went unanswered; links start on the first request");
    };
    void wake(true);
    const waker = setInterval(() => void wake(false), WAKE_EVERY_MS);

    const { code, signal } = await runtime.exited;
    clearInterval(waker);
    lock.release();
    for (const signal of signals) process.off(signal, stop);
    if (stopping) {
      progress("stopped");
      return EXIT.ok;
    }
    progress(`workerd exited unexpectedly (${signal ?? `code ${code}`})`);
    return EXIT.failure;
  },
};

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        data: { type: "string" },
        "env-file": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function portOf(value: string | undefined): number {
  if (value === undefined) return DEFAULTS.port;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError("--port (or PORT) must be a whole number from 0 to 65535");
  return port;
}

function readEnvFile(path: string): Record<string, string> {
  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read the env file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseEnv(content) as Record<string, string>;
}

function readManifest(): WorkerManifest {
  const path = join(WORKER_DIR, "serve.json");
  if (!existsSync(path)) throw new Error(`the Worker's bundle is missing (${WORKER_DIR}); in a clone, run npm run build`);
  return JSON.parse(readFileSync(path, "utf8")) as WorkerManifest;
}

/** The address to reach a server listening on `host` from this machine. */
function localAddress(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::" || host === "[::]") return "[::1]";
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/** GET /health, a few tries; answers "200 ok" or the like, or null when nothing answered. */
async function health(url: string, tries: number): Promise<string | null> {
  for (let i = 0; i < tries; i++) {
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) });
      const body = await res.text();
      return res.ok ? `${res.status} ok` : `${res.status} ${body.slice(0, 200)}`;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return null;
}
