// What consumers do to the inbox, each in one turn: pull (with its long poll), ack, nack, extend,
// heartbeat, and the end of an abandoned pull.
import type { LeasedRow } from "./leased-json";
import type { WaitingPull } from "./long-poll";
import { pollHintMs, type StreamReport } from "./mode-machine";
import type { InboxParts, Turn } from "./turn";
import type { HeartbeatRequest, PullRequest, PullResult } from "./types";

/** The pull's answer, and the poll to wait with when it found nothing to lease yet. */
export function pull(t: Turn, req: PullRequest): { result: Omit<PullResult, "events">; leased: LeasedRow[]; wait: WaitingPull | null } {
  if (req.robotUrl) t.state.robotUrl = req.robotUrl;
  const wanted: WaitingPull = {
    max: req.max,
    leaseMs: req.leaseMs ?? t.tunables.leaseMs,
    consumer: req.consumer ?? null,
    pollId: req.pollId ?? null,
  };
  let released = 0;
  if (wanted.consumer) {
    // A consumer has one waiting poll at most: this pull is its newest, so its older polls, possibly
    // still waiting here for a client that is gone, end now with nothing.
    t.parts.waiters.drop(wanted.consumer);
    if (req.release) released += t.takeBack(t.parts.leases.release(wanted.consumer, t.now));
    if (req.held) released += t.parts.leases.returnUnheld(wanted.consumer, req.held, t.now);
  }
  const reclaimed = reclaim(t);
  // Others may be waiting for what just came back; they were here first.
  if (released || reclaimed) t.serveWaiters();
  t.state.lastPullAt = t.now;
  if (wanted.consumer) t.parts.consumers.seen(wanted.consumer, t.now);
  t.feed({ type: "pull", at: t.now, consumer: wanted.consumer ?? "(anonymous)" });
  const leased = wanted.max > 0 ? t.lease(wanted) : [];
  const result = { released, leaseMs: wanted.leaseMs, ...modeView(t.parts) };
  const wait = leased.length || req.waitMs === 0 || wanted.max === 0 ? null : wanted;
  return { result, leased, wait };
}

/**
 * The pull's request ended (its client went away): a poll still waiting ends with nothing, and a
 * poll answered moments ago gives its leases back, since nobody received them.
 */
export function cancelPull(t: Turn, pollId: string): { cancelled: boolean; returned: number } {
  if (t.parts.waiters.cancel(pollId)) return { cancelled: true, returned: 0 };
  const leaseIds = t.parts.served.take(pollId);
  if (!leaseIds?.length) return { cancelled: false, returned: 0 };
  return { cancelled: true, returned: t.parts.leases.unlease(leaseIds, t.now) };
}

export function ack(t: Turn, leaseIds: string[]) {
  const acked = t.parts.leases.ack(leaseIds, t.now);
  t.state.counters.acked += acked.length;
  return { acked, stale: notIn(leaseIds, acked) };
}

export function nack(t: Turn, leaseIds: string[], delayMs: number, reason: string) {
  const returned = t.parts.leases.nack(leaseIds, t.now, delayMs, reason);
  const dead = returned.filter((r) => r.dead).map((r) => r.leaseId);
  const requeued = returned.filter((r) => !r.dead).map((r) => r.leaseId);
  t.state.counters.nacked += returned.length;
  t.deadLettered(dead.length, reason);
  if (requeued.length && delayMs > 0) t.wakeBy(t.now + delayMs);
  return {
    requeued,
    deadLettered: dead,
    stale: notIn(
      leaseIds,
      returned.map((r) => r.leaseId),
    ),
  };
}

export function extend(t: Turn, leaseIds: string[], leaseMs: number) {
  const leaseExpiresAt = t.now + leaseMs;
  const extended = t.parts.leases.extend(leaseIds, leaseExpiresAt);
  return { extended, leaseExpiresAt, stale: notIn(leaseIds, extended) };
}

export function heartbeat(t: Turn, req: HeartbeatRequest) {
  // The msgIds are acted on here and not kept with the consumer's last report.
  const { msgIds = [], ...report } = req.stream ?? { connected: false };
  const stream: StreamReport | undefined = req.stream ? report : undefined;
  t.parts.consumers.seen(req.consumer, t.now, stream);
  const suppressed = t.parts.events.suppressStreamDuplicates(msgIds, t.now);
  t.state.counters.streamSuppressed += suppressed;
  t.feed({ type: "heartbeat", at: t.now, consumer: req.consumer, stream });
  return { suppressed, ...modeView(t.parts) };
}

/** Expired leases back to the queue (or the dead letters); answers how many. */
export function reclaim(t: Turn): number {
  const back = t.parts.leases.reclaimExpired(t.now);
  t.state.counters.expired += back.returned;
  return t.takeBack(back);
}

/** The mode and poll hint every pull and heartbeat answer carries. */
export function modeView(parts: InboxParts) {
  const machine = parts.state.machine;
  return { mode: machine.mode, pollHintMs: pollHintMs(machine, parts.tunables(), parts.app()?.streamLink === true) };
}

function notIn(all: readonly string[], some: readonly string[]): string[] {
  const set = new Set(some);
  return all.filter((x) => !set.has(x));
}
