// The ordering contract as gateways saw it, from their handler runs: within a conversation no two
// runs overlap in time (one consumer at a time, one event after another), and completions follow
// seq, except re-runs a kill explains. Pure: the runs come from test/harness/delivery-log.ts.
//
// What "in order" means across a kill: a handler cut off by a kill never completes, and a completed
// handler whose ack the kill lost is run again; either way the message runs again after the kill,
// and after messages its conversation had already completed. So: per conversation, taking runs by
// their start, each message's FIRST completion comes in seq order; a later completion of a message
// (a re-run) is allowed only with a kill (of the process that completed it before, or of the
// runtime) between that earlier completion and the re-run's start.

export interface Run {
  /** The gateway process that ran it: every restart is a new process, with the same consumer id. */
  pid: number;
  consumer: string;
  conversation: string;
  seq: number;
  msgId: string;
  /** Milliseconds on the machine's monotonic clock, which every process shares. */
  start: number;
  /** Null: cut off (the process died mid-run). */
  end: number | null;
}

/**
 * A gateway process killed, or, without `pid`, the runtime: from the signal (`at`) until the process
 * was gone, or the runtime answered again (`over`). An ack in flight or sent in that time may be lost.
 */
export interface Kill {
  at: number;
  over: number;
  pid?: number;
}

export interface OrderingReport {
  conversations: number;
  runs: number;
  /** Runs cut off by a kill. */
  cut: number;
  /** Completions of a message completed before, each explained by a kill. */
  reruns: number;
  /** Two runs of one conversation at once. */
  overlaps: string[];
  /** A message's first completion after a later message of its conversation had completed. */
  outOfOrder: string[];
  /** A message completed twice with no kill in between to explain it. */
  unexplainedReruns: string[];
}

export function checkOrdering(runs: readonly Run[], kills: readonly Kill[]): OrderingReport {
  const deathOf = new Map(kills.filter((k) => k.pid !== undefined).map((k) => [k.pid!, k.over]));
  const report: OrderingReport = {
    conversations: 0,
    runs: runs.length,
    cut: runs.filter((r) => r.end === null).length,
    reruns: 0,
    overlaps: [],
    outOfOrder: [],
    unexplainedReruns: [],
  };
  const byConversation = new Map<string, Run[]>();
  for (const run of runs) {
    const list = byConversation.get(run.conversation);
    if (list) list.push(run);
    else byConversation.set(run.conversation, [run]);
  }
  report.conversations = byConversation.size;
  for (const [conversation, list] of byConversation) {
    const sorted = [...list].sort((a, b) => a.start - b.start);
    findOverlaps(conversation, sorted, deathOf, report);
    checkCompletions(conversation, sorted, kills, report);
  }
  return report;
}

/** A run cut off lasted until its process was seen dead; one of a process never killed, for ever. */
function endOf(run: Run, deathOf: ReadonlyMap<number, number>): number {
  return run.end ?? deathOf.get(run.pid) ?? Number.POSITIVE_INFINITY;
}

function findOverlaps(conversation: string, sorted: readonly Run[], deathOf: ReadonlyMap<number, number>, report: OrderingReport) {
  let latest: Run | null = null;
  for (const run of sorted) {
    if (latest && run.start < endOf(latest, deathOf)) {
      report.overlaps.push(
        `${conversation}: seq ${run.seq} (${run.consumer}, pid ${run.pid}) started while seq ${latest.seq} (${latest.consumer}, pid ${latest.pid}) ran`,
      );
    }
    if (!latest || endOf(run, deathOf) > endOf(latest, deathOf)) latest = run;
  }
}

function checkCompletions(conversation: string, sorted: readonly Run[], kills: readonly Kill[], report: OrderingReport) {
  const completed = new Map<string, Run>();
  let highest: Run | null = null;
  for (const run of sorted) {
    if (run.end === null) continue;
    const before = completed.get(run.msgId);
    if (before) {
      const explained = kills.some((k) => (k.pid === undefined || k.pid === before.pid) && before.end! <= k.over && k.at <= run.start);
      if (explained) report.reruns++;
      else report.unexplainedReruns.push(`${conversation}: seq ${run.seq} completed by pid ${before.pid}, then again by pid ${run.pid}`);
      continue;
    }
    completed.set(run.msgId, run);
    if (highest && run.seq < highest.seq) {
      report.outOfOrder.push(`${conversation}: seq ${run.seq} (pid ${run.pid}) completed after seq ${highest.seq} (pid ${highest.pid})`);
    }
    if (!highest || run.seq > highest.seq) highest = run;
  }
}
