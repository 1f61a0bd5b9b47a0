// Standalone fake DingTalk: `tsx test/harness/fake-dingtalk/cli.ts --port 9999 --app id:secret`.
import { parseArgs } from "node:util";
import { startFakeDingTalk } from "./server.ts";
import type { FakeApp } from "./types.ts";

const HELP = `Usage: tsx test/harness/fake-dingtalk/cli.ts [options]

A fake DingTalk: Stream gateway (connections/open + WebSocket), oauth2 access tokens,
robot send APIs, a session-webhook sink, a custom group robot webhook (/robot/send, for
alert sinks), and a control API under /_fake/ (failure switches, the robot permission).

Options:
  --port N             port to listen on (default 0: any free port)
  --host H             host to bind (default 127.0.0.1)
  --app ID:SECRET[:ROBOTCODE]   an app whose credentials are accepted; repeatable
                       (default: one app fake-client-id:fake-client-secret)
  --ping-ms N          SYSTEM ping interval, 0 = off (default 20000)
  --redeliver-ms N     redeliver an unacked robot message after N ms, 0 = never (default 60000)
  --grace-ms N         close a socket N ms after a disconnect frame (default 10000)
  --quiet              no log lines
  --help               this text

Drive it with HTTP, e.g.:
  curl -X POST <url>/_fake/robot-message -d '{}'     (a sample text message)
  curl <url>/_fake/state
`;

function parseApp(value: string): FakeApp {
  const [clientId, clientSecret, robotCode] = value.split(":");
  if (!clientId || !clientSecret) throw new Error(`--app wants ID:SECRET[:ROBOTCODE], got "${value}"`);
  return { clientId, clientSecret, ...(robotCode ? { robotCode } : {}) };
}

function parseMs(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} wants a whole number of milliseconds, got "${value}"`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      host: { type: "string" },
      app: { type: "string", multiple: true },
      "ping-ms": { type: "string" },
      "redeliver-ms": { type: "string" },
      "grace-ms": { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const apps = (values.app ?? ["fake-client-id:fake-client-secret"]).map(parseApp);
  const pingIntervalMs = parseMs("ping-ms", values["ping-ms"]);
  const redeliverAfterMs = parseMs("redeliver-ms", values["redeliver-ms"]);
  const disconnectGraceMs = parseMs("grace-ms", values["grace-ms"]);
  const port = parseMs("port", values.port);
  const fake = await startFakeDingTalk({
    apps,
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(pingIntervalMs !== undefined ? { pingIntervalMs } : {}),
    ...(redeliverAfterMs !== undefined ? { redeliverAfterMs } : {}),
    ...(disconnectGraceMs !== undefined ? { disconnectGraceMs } : {}),
    ...(values.quiet ? {} : { log: (line: string) => process.stderr.write(`${line}\n`) }),
  });
  // The URL alone on stdout, so a script can read it with one line.
  process.stdout.write(`${fake.url}\n`);
  process.stderr.write(`fake DingTalk on ${fake.url} for ${apps.map((a) => a.clientId).join(", ")}; Ctrl-C stops it\n`);
  const stop = (): void => {
    void fake.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
