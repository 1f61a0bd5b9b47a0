// The gateway's drain loop: long-poll, hand each event to the handler in order, ack on success,
// nack with backoff on failure, keep long runs leased, and stop cleanly.
import type { BridgeClient } from "./bridge-client.js";
import { BridgeError } from "./errors.js";
import type { StreamHealth } from "./stream-health.js";
import type { BridgeEvent, Mode } from "./types.js";

export interface DrainOptions {
  signal?: AbortSignal;
  max?: number;
  /** Long-poll wait per pull (the bridge allows up to 25 s). */
  waitMs?: number;
  /** Lease length per pull; by default the bridge's LEASE_MS. */
  leaseMs?: number;
  heartbeatMs?: number;
  streamHealth?: StreamHealth;
  /** Delay before a failed event is offered again, by its attempt number. */
  retryDelayMs?: (attempt: number) => number;
  onError?: (error: unknown, context: string) => void;
  onMode?: (mode: Mode) => void;
  /** Called after every successful pull with the number of events it brought. */
  onPull?: (count: number) => void;
  /**
   * Give up (throw the error) after this many pulls in a row failed for a retryable reason, instead
   * of backing off for ever; for one-shot runs such as `dtbridge tail --once`. Default: never.
   */
  maxPullFailures?: number;
}

export interface DrainStats {
  acked: number;
  nacked: number;
  pulls: number;
  networkErrors: number;
}

/** Doubling from `baseMs` per attempt, capped at 5 minutes. */
export function retryDelayMs(attempt: number, baseMs = 1_000): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempt - 1), 300_000);
}

/** Full jitter over an exponential step: spreads reconnecting gateways apart. */
export function backoffMs(failures: number, baseMs = 500, capMs = 30_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(failures, 16));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

export async function drain(
  client: BridgeClient,
  handler: (event: BridgeEvent) => unknown | Promise<unknown>,
  options: DrainOptions = {},
): Promise<DrainStats> {
  const waitMs = options.waitMs ?? 20_000;
  const retryDelay = options.retryDelayMs ?? ((attempt: number) => retryDelayMs(attempt));
  const report = options.onError ?? (() => {});
  const signal = options.signal;
  const stats: DrainStats = { acked: 0, nacked: 0, pulls: 0, networkErrors: 0 };
  let mode: Mode | undefined;
  let pollHintMs = 0;
  let failures = 0;
  let release = true;
  let leaseMs = options.leaseMs ?? 60_000;

  // The pause between safety polls in stream mode ends early when a heartbeat learns that
  // DingTalk delivers to the bridge again, so the first message after a flip waits for no timer.
  let pause: AbortController | null = null;
  const noteMode = (next: Mode, hint: number) => {
    pollHintMs = hint;
    if (hint === 0) pause?.abort();
    if (next !== mode) {
      mode = next;
      options.onMode?.(next);
    }
  };

  const stopHeartbeat = startHeartbeat(client, options, noteMode, report);
  try {
    while (!signal?.aborted) {
      let batch: BridgeEvent[];
      try {
        const res = await client.pull({
          max: options.max ?? 10,
          waitMs: pollHintMs > 0 ? 0 : waitMs,
          leaseMs: options.leaseMs,
          release,
          signal,
        });
        release = false;
        stats.pulls += 1;
        failures = 0;
        noteMode(res.mode, res.pollHintMs);
        batch = res.events;
        leaseMs = res.leaseMs;
        options.onPull?.(batch.length);
      } catch (error) {
        if (signal?.aborted) break;
        if (error instanceof BridgeError && !error.retryable) throw error;
        if (failures + 1 >= (options.maxPullFailures ?? Infinity)) throw error;
        stats.networkErrors += 1;
        report(error, "pull");
        // The lost answer may have carried events leased to us: the next pull takes them back.
        release = true;
        await sleep(backoffMs(failures++), signal);
        continue;
      }
      for (let i = 0; i < batch.length; i++) {
        if (signal?.aborted) {
          // Stopping: what this consumer holds but has not started goes straight back to the queue.
          await client
            .nack(
              batch.slice(i).map((e) => e.leaseId),
              0,
              "consumer stopping",
            )
            .catch((e) => report(e, "nack"));
          break;
        }
        await handleOne(client, handler, batch[i]!, leaseMs, retryDelay, stats, report);
      }
      if (batch.length === 0 && pollHintMs > 0) {
        pause = new AbortController();
        await sleep(pollHintMs, signal ? AbortSignal.any([signal, pause.signal]) : pause.signal);
        pause = null;
      }
    }
  } finally {
    stopHeartbeat();
  }
  // A pull aborted by the stop may have been handed events a moment before: give them back now.
  if (signal?.aborted) await client.releaseAll().catch((e) => report(e, "release"));
  return stats;
}

async function handleOne(
  client: BridgeClient,
  handler: (event: BridgeEvent) => unknown | Promise<unknown>,
  event: BridgeEvent,
  leaseMs: number,
  retryDelay: (attempt: number) => number,
  stats: DrainStats,
  report: (error: unknown, context: string) => void,
): Promise<void> {
  // Past half its lease, a running handler's event is extended so nobody else gets it meanwhile.
  const keepLeased = setInterval(
    () => {
      client.extend([event.leaseId], leaseMs).catch((e) => report(e, "extend"));
    },
    Math.max(500, leaseMs / 2),
  );
  let failure: unknown = null;
  try {
    await handler(event);
  } catch (error) {
    failure = error ?? new Error("handler failed");
  } finally {
    clearInterval(keepLeased);
  }
  try {
    if (failure === null) {
      await client.ack([event.leaseId]);
      stats.acked += 1;
    } else {
      report(failure, "handler");
      const reason = failure instanceof Error ? failure.message : String(failure);
      await client.nack([event.leaseId], retryDelay(event.attempt), reason);
      stats.nacked += 1;
    }
  } catch (error) {
    // The lease runs out and the event comes back: at least once, never lost.
    report(error, failure === null ? "ack" : "nack");
  }
}

function startHeartbeat(
  client: BridgeClient,
  options: DrainOptions,
  noteMode: (mode: Mode, hint: number) => void,
  report: (error: unknown, context: string) => void,
): () => void {
  const beat = async () => {
    const stream = options.streamHealth?.takeReport();
    try {
      const res = await client.heartbeat(stream);
      noteMode(res.mode, res.pollHintMs);
    } catch (error) {
      if (stream) options.streamHealth?.restore(stream);
      report(error, "heartbeat");
    }
  };
  void beat();
  const timer = setInterval(beat, options.heartbeatMs ?? 15_000);
  return () => clearInterval(timer);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
