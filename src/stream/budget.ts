// When the link may open its next connection. Rapid reconnects are what make DingTalk stop routing,
// so opens obey a budget (3 in any 10 minutes, 10 in any hour) on top of a jittered backoff
// (1 s doubling to 60 s, reset after 5 minutes of healthy connection). Pure: time and randomness in.

export const BUDGET = [
  { windowMs: 10 * 60_000, max: 3 },
  { windowMs: 60 * 60_000, max: 10 },
] as const;
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_MAX_MS = 60_000;
export const HEALTHY_RESET_MS = 5 * 60_000;
/** Credentials DingTalk refused are tried again this often. */
export const REFUSED_RETRY_MS = 10 * 60_000;

export interface OpenHistory {
  /** When each recent open was attempted, ascending. */
  opens: readonly number[];
  /** Not before this: set once per failure from `reconnectDelayMs`, so a retried plan does not re-roll the jitter. */
  retryAt: number | null;
}

export type OpenPlan =
  | { at: number; why: "now" }
  | { at: number; why: "backoff" }
  /** The budget is spent: the link waits, and an operator hears of it. */
  | { at: number; why: "budget"; window: { windowMs: number; max: number } };

/** The jittered backoff after `failures` consecutive failures: between half and all of the step. */
export function reconnectDelayMs(failures: number, random: () => number): number {
  if (failures <= 0) return 0;
  const step = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(failures - 1, 16));
  return Math.round(step / 2 + (random() * step) / 2);
}

/** The earliest moment the next open is allowed, and why it is not now. */
export function planOpen(h: OpenHistory, now: number): OpenPlan {
  for (const window of BUDGET) {
    const inWindow = h.opens.filter((t) => t > now - window.windowMs);
    if (inWindow.length >= window.max) {
      // Free again when the oldest open that fills the window leaves it.
      return { at: inWindow[inWindow.length - window.max]! + window.windowMs, why: "budget", window };
    }
  }
  if (h.retryAt !== null && h.retryAt > now) return { at: h.retryAt, why: "backoff" };
  return { at: now, why: "now" };
}

/** Opens older than the longest window no longer matter. */
export function pruneOpens(opens: readonly number[], now: number): number[] {
  const longest = Math.max(...BUDGET.map((w) => w.windowMs));
  return opens.filter((t) => t > now - longest);
}
