// Which ready events a pull may lease under the ordering rules (docs/architecture.md, "Ordering").
// A key's events go out in seq order and to one consumer at a time: a pull may take the front of a
// key nobody holds, the front of a key it holds itself, and any event without a key; then, with
// room left and a consumer name to hold the key by, the events that follow those fronts. A key whose
// front is not visible yet (a nack delay) gives nothing, so nothing overtakes it. Pure.

export type Candidate = {
  seq: number;
  /** Null for an event without an ordering key. */
  key: string | null;
  /** Payload bytes, for the page's size cap. */
  size: number;
};

/** The fronts a pull takes: the oldest first, at most `max`. */
export function takeFronts(max: number, fronts: readonly Candidate[]): Candidate[] {
  return [...fronts].sort((a, b) => a.seq - b.seq).slice(0, max);
}

/** With `room` left, the follow-ups of the keys taken, oldest first across keys. */
export function takeFollowUps(room: number, runs: ReadonlyMap<string, readonly Candidate[]>): Candidate[] {
  return [...runs.values()]
    .flat()
    .sort((a, b) => a.seq - b.seq)
    .slice(0, Math.max(0, room));
}

/**
 * A key's run after its front: the ready events that follow in seq order, up to the first one not
 * visible yet, since nothing of a key may overtake an earlier event still waiting.
 */
export function visibleRun<T extends { visible_at: number }>(rows: readonly T[], now: number): T[] {
  const run: T[] = [];
  for (const row of rows) {
    if (row.visible_at > now) break;
    run.push(row);
  }
  return run;
}
