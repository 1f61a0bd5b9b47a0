// What every dtbridge command shares: connection flags and env vars, help, and exit codes.
import { type ParseArgsConfig, parseArgs } from "node:util";
import { BridgeClient, defaultConsumerId } from "../client/bridge-client";
import { BridgeAuthError, BridgeNetworkError, BridgeNotFoundError, BridgeSendRefusedError } from "../client/errors";

/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  network: 5,
  /** `drain`/`tail --once`: nothing was there. */
  empty: 6,
} as const;

export class UsageError extends Error {}

export const connectionOptions = {
  url: { type: "string" },
  app: { type: "string" },
  token: { type: "string" },
  consumer: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

export const CONNECTION_HELP = `Connection (flags override the environment):
  --url URL          bridge base URL            [DTBRIDGE_URL]
  --app NAME         app name                   [DTBRIDGE_APP, default "default"]
  --token TOKEN      consumer token             [DTBRIDGE_TOKEN]
  --consumer ID      stable consumer id         [DTBRIDGE_CONSUMER, default "dtbridge-<host>"]
  -h, --help         this help`;

export interface Command {
  name: string;
  summary: string;
  help: string;
  run(argv: string[]): Promise<number>;
}

export function parse<O extends ParseArgsConfig["options"]>(argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { ...connectionOptions, ...options }, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The bridge's base URL from --url or DTBRIDGE_URL; a malformed one is a usage error, not "unreachable". */
export function bridgeUrl(values: { url?: string }): string {
  const url = values.url ?? process.env.DTBRIDGE_URL;
  if (!url) throw new UsageError("no bridge URL: pass --url or set DTBRIDGE_URL");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`the bridge URL "${url.slice(0, 100)}" is not a URL; it looks like http://127.0.0.1:8787`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    throw new UsageError(`the bridge URL must be http:// or https://, not ${parsed.protocol}`);
  return url;
}

export function connect(values: { url?: string; app?: string; token?: string; consumer?: string }): BridgeClient {
  const url = bridgeUrl(values);
  const token = values.token ?? process.env.DTBRIDGE_TOKEN;
  if (!token) throw new UsageError("no consumer token: pass --token or set DTBRIDGE_TOKEN");
  return new BridgeClient({
    url,
    token,
    app: values.app ?? process.env.DTBRIDGE_APP ?? "default",
    // dtbridge-<host name>: shells do not export HOSTNAME, so it comes from the OS itself.
    consumer: values.consumer ?? process.env.DTBRIDGE_CONSUMER ?? defaultConsumerId("dtbridge"),
  });
}

export function intOption(value: string | undefined, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  return n;
}

/** Prints a command's help on standard output; answers the exit code for it. */
export function printHelp(help: string): number {
  process.stdout.write(`${help}\n`);
  return EXIT.ok;
}

/** Maps any failure to a message on stderr and an exit code. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`dtbridge: ${error.message}\n`);
    return EXIT.usage;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`dtbridge: ${message}\n`);
  if (error instanceof BridgeSendRefusedError && error.dingtalkCode) {
    process.stderr.write(`dtbridge: DingTalk's code: ${error.dingtalkCode}${error.dingtalkMessage ? ` (${error.dingtalkMessage})` : ""}\n`);
  }
  if (error instanceof BridgeAuthError) return EXIT.auth;
  if (error instanceof BridgeNotFoundError) return EXIT.notFound;
  if (error instanceof BridgeNetworkError) return EXIT.network;
  return EXIT.failure;
}

/** Aborts on the first SIGINT or SIGTERM, so commands finish the event in hand and stop. */
export function stopSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return controller.signal;
}

export function writeLine(line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(`${line}\n`, (error) => (error ? reject(error) : resolve()));
  });
}
