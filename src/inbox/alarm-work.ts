// What the inbox's one alarm does each time it runs, and when it must run next: leases that ran out
// and nack delays that ended go to whoever waits, time-based transitions happen with no request, and
// retention sweeps, all in one quick turn. Alerts and send retries, which wait on peers that may
// never answer, leave beside the alarm rather than inside it (alerts first: they matter most exactly
// when DingTalk is unreachable and sends are slow), so a hanging sink or DingTalk cannot hold back
// the next lease expiry or long-poll answer.
import { sendFailedAlert } from "../alerts/incidents";
import type { Clock } from "../lib/clock";
import { reclaim } from "./consume";
import { nextDeadline } from "./mode-machine";
import { rejectionsDeadline, rejectionsQuiet } from "./rejections";
import { sweepIfDue, sweepIntervalMs } from "./sweep";
import { type InboxParts, Turn } from "./turn";
import { backlogDeadline, watchApiQuota, watchBacklog, watchIpAllowlist } from "./watch";

/** While deliveries run, the alarm checks back this often instead of at their due times. */
const DELIVERY_CHECK_MS = 30_000;

export async function alarmWork(parts: InboxParts, clock: Clock): Promise<void> {
  const t = new Turn(parts, clock.now());
  reclaim(t);
  // A consumer waiting in a long poll right now is attached, however long ago it pulled.
  t.feed(parts.waiters.size ? { type: "waiting", at: t.now } : { type: "tick", at: t.now });
  sweepIfDue(t);
  watchBacklog(t);
  rejectionsQuiet(t);
  await t.end();
  parts.deliveries.running ??= deliver(parts, clock).finally(() => {
    parts.deliveries.running = null;
  });
}

/** Alerts, then send retries, then alerts those raised; what is left arms the alarm for its time. */
async function deliver(parts: InboxParts, clock: Clock): Promise<void> {
  const tunables = parts.tunables();
  const sink = tunables.alertWebhookUrl ? { url: tunables.alertWebhookUrl, secret: tunables.alertWebhookSecret } : null;
  const app = parts.state.app ?? "unknown";
  await parts.alerts.flush(clock.now(), sink, app, clock);
  const givenUp = await parts.outbox.retryDue();
  // What the retries learnt: sends given up (their alert leaves now, not at the next wake), the quota, the IP allowlist.
  const after = new Turn(parts, clock.now());
  after.raise(givenUp.map(sendFailedAlert));
  watchApiQuota(after);
  watchIpAllowlist(after);
  await parts.alerts.flush(clock.now(), sink, app, clock);
  after.wakeBy(parts.alerts.nextDue());
  after.wakeBy(parts.outbox.nextDue());
  await after.end();
}

/** The earliest deadline of any part, never in the past. */
export function nextWake(parts: InboxParts, now: number): number {
  const t = parts.tunables();
  const delivering = parts.deliveries.running !== null;
  const candidates = [
    parts.sweeps.nextAt || now + sweepIntervalMs(t),
    parts.leases.nextDeadline(now),
    nextDeadline(parts.state.machine, t),
    // Deliveries under way arm the alarm themselves when they end; a check-back covers an eviction meanwhile.
    delivering ? now + DELIVERY_CHECK_MS : parts.alerts.nextDue(),
    delivering ? null : parts.outbox.nextDue(),
    backlogDeadline(parts, now),
    rejectionsDeadline({ state: parts.state, tunables: t }),
  ].filter((x): x is number => typeof x === "number");
  return Math.max(now, Math.min(...candidates));
}
