// Delays shared by the drain loop and its acks: retry backoff per attempt, jittered reconnect
// backoff, and a sleep a stop signal cuts short.

/** Doubling from `baseMs` per attempt, capped at 5 minutes. */
export function retryDelayMs(attempt: number, baseMs = 1_000): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempt - 1), 300_000);
}

/** Full jitter over an exponential step: spreads reconnecting gateways apart. */
export function backoffMs(failures: number, baseMs = 500, capMs = 30_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(failures, 16));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
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

/** Lets a loop wait until something it cares about changed: a handler finished, a lease was let go. */
export class Wakeup {
  private waiters: (() => void)[] = [];

  ring(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves at the next ring, or when `signal` aborts. */
  next(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        signal?.removeEventListener("abort", done);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}

/**
 * One signal that aborts when any source does, or after `timeoutMs`. Its links are plain listeners,
 * removed by `release`: Node 20's AbortSignal.any links weakly, and a combined signal that only
 * fetch holds can be collected mid-request, so its abort never arrives.
 */
export function linkedSignal(sources: readonly (AbortSignal | undefined)[], timeoutMs?: number): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const links: [AbortSignal, () => void][] = [];
  for (const source of sources) {
    if (!source) continue;
    if (source.aborted) {
      controller.abort(source.reason);
      break;
    }
    const link = () => controller.abort(source.reason);
    source.addEventListener("abort", link, { once: true });
    links.push([source, link]);
  }
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, "TimeoutError")), timeoutMs);
  return {
    signal: controller.signal,
    release: () => {
      if (timer !== undefined) clearTimeout(timer);
      for (const [source, link] of links) source.removeEventListener("abort", link);
    },
  };
}

/**
 * `promise`, or the signal's reason once it aborts. A response body read in Node 20 may never settle
 * when its fetch is aborted mid-body, so the reader stops waiting for it.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  let stop = () => {};
  const aborted = new Promise<never>((_, reject) => {
    stop = () => reject(signal.reason);
    signal.addEventListener("abort", stop, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener("abort", stop));
}
