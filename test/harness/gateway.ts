// A gateway for the ordering end-to-end test and the chaos runs: test/harness/gateway-process.ts
// (the published client's drain) in a process group of its own, so it can be killed the hard way,
// recording each handler run to an NDJSON file that test/harness/delivery-log.ts reads.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./processes";

export interface GatewayOptions {
  url: string;
  token: string;
  app: string;
  consumer: string;
  /** Where the runs go, appended (several gateways may share one file); stderr goes to `<outFile>.stderr`. */
  outFile: string;
  /** Handlers at once, each on a different ordering key (the client's default, 4). */
  concurrency?: number;
  /** The longest a handler takes; each takes a random time up to it (default 40 ms). */
  handlerMs?: number;
  /** Lease length per pull (default: the bridge's). */
  leaseMs?: number;
  /** Long-poll wait per pull (default 5000 ms). */
  waitMs?: number;
}

/** Milliseconds on the machine's monotonic clock: the same clock in every process, so runs compare. */
export function monoNow(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function startGateway(opts: GatewayOptions): ChildProcess {
  const err = openSync(`${opts.outFile}.stderr`, "a");
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "test/harness/gateway-process.ts")], {
    cwd: ROOT,
    env: {
      ...process.env,
      DTBRIDGE_URL: opts.url,
      DTBRIDGE_TOKEN: opts.token,
      DTBRIDGE_APP: opts.app,
      GATEWAY_CONSUMER: opts.consumer,
      GATEWAY_OUT: opts.outFile,
      GATEWAY_CONCURRENCY: String(opts.concurrency ?? 4),
      GATEWAY_HANDLER_MS: String(opts.handlerMs ?? 40),
      GATEWAY_WAIT_MS: String(opts.waitMs ?? 5_000),
      GATEWAY_LEASE_MS: opts.leaseMs === undefined ? "" : String(opts.leaseMs),
    },
    stdio: ["ignore", "ignore", err],
    detached: true,
  });
  closeSync(err);
  return child;
}
