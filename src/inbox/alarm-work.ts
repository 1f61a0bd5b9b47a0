// What the inbox's one alarm does each time it runs, and when it must run next: leases that ran out
// and nack delays that ended go to whoever waits, time-based transitions happen with no request,
// retention sweeps, and alerts and send retries leave (alerts first: they matter most exactly when
// DingTalk is unreachable and sends are slow).
import { sendFailedAlert } from "../alerts/incidents";
import type { Clock } from "../lib/clock";
import { reclaim } from "./consume";
import { nextDeadline } from "./mode-machine";
import { sweepIfDue, sweepIntervalMs } from "./sweep";
import { type InboxParts, Turn } from "./turn";

export async function alarmWork(parts: InboxParts, clock: Clock): Promise<void> {
  const t = new Turn(parts, clock.now());
  reclaim(t);
  // A consumer waiting in a long poll right now is attached, however long ago it pulled.
  t.feed(parts.waiters.size ? { type: "waiting", at: t.now } : { type: "tick", at: t.now });
  sweepIfDue(t);
  await t.end();
  const sink = t.tunables.alertWebhookUrl ? { url: t.tunables.alertWebhookUrl, secret: t.tunables.alertWebhookSecret } : null;
  const app = parts.state.app ?? "unknown";
  await parts.alerts.flush(clock.now(), sink, app, clock);
  const givenUp = await parts.outbox.retryDue();
  if (givenUp.length === 0) return;
  // A send given up in the retries raises its alert, which leaves now, not at the next wake.
  const after = new Turn(parts, clock.now());
  after.raise(givenUp.map(sendFailedAlert));
  await after.end();
  await parts.alerts.flush(clock.now(), sink, app, clock);
}

/** The earliest deadline of any part, never in the past. */
export function nextWake(parts: InboxParts, now: number): number {
  const t = parts.tunables();
  const candidates = [
    parts.sweeps.nextAt || now + sweepIntervalMs(t),
    parts.leases.nextDeadline(now),
    nextDeadline(parts.state.machine, t),
    parts.alerts.nextDue(),
    parts.outbox.nextDue(),
  ].filter((x): x is number => typeof x === "number");
  return Math.max(now, Math.min(...candidates));
}
