// A gateway process (started by test/harness/gateway.ts): the published client's drain, loaded from
// dist/client.js as a gateway installs it, with a handler that takes a random time and appends one
// NDJSON line as it starts and one as it ends, on the monotonic clock every process shares. Each
// line is one write to a file opened for appending, so several gateways can share a file and a kill
// -9 leaves only whole lines behind. SIGTERM or SIGINT stops the drain cleanly: running handlers
// finish and are acked, the rest is handed back.
import { openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { monoNow } from "./gateway";
import { ROOT } from "./processes";

type PublishedClient = typeof import("../../src/client/index");
const { BridgeClient, drain } = (await import(pathToFileURL(join(ROOT, "dist/client.js")).href)) as PublishedClient;

const env = (name: string) => process.env[name] ?? "";
const consumer = env("GATEWAY_CONSUMER");
const handlerMs = Number(env("GATEWAY_HANDLER_MS"));
const out = openSync(env("GATEWAY_OUT"), "a");
const record = (line: Record<string, unknown>) => writeSync(out, `${JSON.stringify({ ...line, pid: process.pid, at: monoNow() })}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const stop = new AbortController();
process.once("SIGTERM", () => stop.abort());
process.once("SIGINT", () => stop.abort());
const client = new BridgeClient({ url: env("DTBRIDGE_URL"), token: env("DTBRIDGE_TOKEN"), app: env("DTBRIDGE_APP"), consumer });
let runs = 0;
record({ ev: "up", consumer });
const stats = await drain(
  client,
  async (event) => {
    const run = ++runs;
    record({
      ev: "start",
      run,
      consumer,
      conversation: event.payload.conversationId ?? null,
      key: event.orderingKey,
      seq: event.seq,
      msgId: event.payload.msgId,
      attempt: event.attempt,
    });
    await sleep(Math.random() * handlerMs);
    record({ ev: "end", run });
  },
  {
    signal: stop.signal,
    concurrency: Number(env("GATEWAY_CONCURRENCY")),
    waitMs: Number(env("GATEWAY_WAIT_MS")),
    ...(env("GATEWAY_LEASE_MS") ? { leaseMs: Number(env("GATEWAY_LEASE_MS")) } : {}),
    onError: (error, context) => process.stderr.write(`gateway ${consumer}: ${context}: ${(error as Error).message ?? error}\n`),
  },
);
record({ ev: "down", acked: stats.acked, nacked: stats.nacked, pulls: stats.pulls });
