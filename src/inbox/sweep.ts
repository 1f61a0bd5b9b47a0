// Retention: what was delivered long enough ago is deleted, with every table's old rows, and what
// retention cannot fix by itself (a backlog older than retention, storage filling up) is raised.
import type { Tunables } from "../config/tunables";
import { retentionAlerts } from "./retention-alerts";
import { setAsideResolved } from "./set-aside";
import type { Turn } from "./turn";

const HOUR = 3_600_000;

/** A quarter of the retention, between a second and an hour. */
export function sweepIntervalMs(t: Tunables): number {
  return Math.max(1000, Math.min(HOUR, Math.floor(t.retentionMs / 4)));
}

/** When the alarm must run for the next sweep: the first alarm of an object instance sweeps. */
export function sweepDueBy(t: Turn): number {
  return t.parts.sweeps.nextAt || t.now + sweepIntervalMs(t.tunables);
}

/** Sweeps when one is due; answers nothing, and schedules the next. */
export function sweepIfDue(t: Turn): void {
  if (t.now < t.parts.sweeps.nextAt) return;
  sweep(t);
  t.parts.sweeps.nextAt = t.now + sweepIntervalMs(t.tunables);
}

function sweep(t: Turn): void {
  const { parts, now, tunables } = t;
  const cutoff = now - tunables.retentionMs;
  parts.events.sweep(cutoff);
  parts.appState.sweep(cutoff);
  parts.consumers.sweep(cutoff);
  parts.alerts.sweep(cutoff);
  parts.offlineReplies.sweep(cutoff);
  parts.outbox.sweep(cutoff);
  parts.signs.sweep(now - tunables.signWindowMs - HOUR);
  setAsideResolved(t);
  const counts = parts.pages.counts();
  t.raise(
    retentionAlerts(
      t.state.incidents,
      {
        now,
        oldestUndeliveredAt: counts.oldestUndeliveredReceivedAt,
        undelivered: counts.ready + counts.leased + counts.dead,
        storageBytes: parts.storage.sql.databaseSize,
      },
      tunables,
    ),
  );
}
