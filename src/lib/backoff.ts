/** 5 s doubling per attempt, at most 10 minutes: how alerts and sends wait between tries. */
export function retryBackoffMs(attempts: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, attempts - 1), 600_000);
}
