// The flags tail, drain and forward share, read as one namespace (`import * as drainFlags`): what to
// pull, how long to wait and lease, --once, and what a one-shot run leaves behind.
import type { ParseArgsConfig } from "node:util";
import type { DrainOptions, DrainStats } from "../client/drain";
import { linkedSignal } from "../client/timing";
import { intOption, stopSignal } from "./common";

/** How much to pull, how long to wait and lease, and --once. */
export const options = {
  max: { type: "string" },
  wait: { type: "string" },
  lease: { type: "string" },
  once: { type: "boolean" },
} as const satisfies ParseArgsConfig["options"];

export const HELP = `  --max N            events per pull (1-100, default 10)
  --wait MS          long-poll wait per pull (0-25000, default 20000); with --once, how long to wait
                     for events this run nacked to come due again
  --lease MS         lease length (default: the bridge's LEASE_MS)
  --once             stop when the queue has nothing for this consumer (exit 6 if nothing came; exit 5
                     at once if the bridge is unreachable)`;

/** Drain options from those flags. `stop` ends the loop, and so does the first SIGINT or SIGTERM. */
export function settings(values: { max?: string; wait?: string; lease?: string; once?: boolean }, stop: AbortController): DrainOptions {
  return {
    signal: linkedSignal([stopSignal(), stop.signal]).signal,
    max: intOption(values.max, "max", 10, 1, 100),
    waitMs: intOption(values.wait, "wait", 20_000, 0, 25_000),
    leaseMs: values.lease === undefined ? undefined : intOption(values.lease, "lease", 60_000, 1_000),
    // A one-shot run (a cron job) must end: no answer from the bridge is exit 5, not a retry loop.
    ...(values.once ? { once: true, maxPullFailures: 1 } : {}),
  };
}

/** What a one-shot run leaves behind: its own nacked events that come due later, said on stderr. */
export function retriesLeftNote(command: string, stats: DrainStats): void {
  if (stats.retriesPending === 0 || stats.nextRetryAt === null) return;
  const seconds = Math.max(1, Math.ceil((stats.nextRetryAt - Date.now()) / 1000));
  process.stderr.write(
    `dtbridge ${command}: ${stats.retriesPending} nacked event(s) wait for a retry, the next in ${seconds} s; run again then\n`,
  );
}
