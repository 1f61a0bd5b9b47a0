// The status document: what an operator (dtbridge status, the console) sees of one app's inbox.
import { STORAGE_LIMIT_BYTES, type Tunables } from "../config/tunables";
import type { AppState } from "./app-state";
import type { ConsumerView } from "./consumer-registry";
import type { QueueCounts } from "./event-pages";
import type { Transition } from "./mode-machine";

export interface StatusParts {
  app: string;
  now: number;
  state: AppState;
  counts: QueueCounts;
  consumers: ConsumerView[];
  transitions: Transition[];
  alerts: unknown[];
  storageBytes: number;
  outbox: { queued: number; oldestCreatedAt: number | null; resentAfterCrash: number; recent: unknown[] };
  tunables: Tunables;
  modeView: { mode: string; pollHintMs: number };
  ordering: string;
  configProblems: readonly { setting: string; problem: string }[];
  apiUsage: { month: string; thisMonth: number; thisMinute: number; previousMinute: number };
  nextAlarmAt: number | null;
}

export function statusView(p: StatusParts) {
  const { counts, now } = p;
  const m = p.state.machine;
  const age = (t: number | null) => (t === null ? null : now - t);
  return {
    app: p.app,
    now,
    ...p.modeView,
    consumers: { state: m.consumers, lastSeenAt: m.lastConsumerSeenAt, list: p.consumers },
    routing: m.routing,
    depth: counts.ready + counts.leased,
    ready: counts.ready,
    leased: counts.leased,
    deadLetters: counts.dead,
    ordering: p.ordering,
    orderingKeysHeld: counts.orderingKeysHeld,
    oldestReadyAgeMs: age(counts.oldestReadyReceivedAt),
    oldestUndeliveredAgeMs: age(counts.oldestUndeliveredReceivedAt),
    robotUrl: p.state.robotUrl,
    lastCallbackAt: m.lastCallbackAt,
    lastPullAt: p.state.lastPullAt,
    lastStreamMessageAt: m.lastStreamMessageAt,
    stream: { connected: m.streamConnected, recentReconnects: m.reconnects },
    incidents: [
      ...(m.outageSince === null ? [] : [{ incident: "consumers_detached", since: m.outageSince }]),
      ...(m.stallSince === null ? [] : [{ incident: "stuck_routing", since: m.stallSince }]),
      ...Object.entries(p.state.incidents).map(([incident, since]) => ({ incident, since })),
    ],
    retention: { retentionMs: p.tunables.retentionMs, pastRetention: p.state.incidents.backlog_past_retention !== undefined },
    storage: { bytes: p.storageBytes, alertAtBytes: p.tunables.storageAlertBytes, limitBytes: STORAGE_LIMIT_BYTES },
    outbox: {
      queued: p.outbox.queued,
      oldestQueuedAgeMs: age(p.outbox.oldestCreatedAt),
      resentAfterCrash: p.outbox.resentAfterCrash,
      recent: p.outbox.recent,
    },
    transitions: p.transitions,
    alerts: p.alerts,
    counters: p.state.counters,
    config: { problems: p.configProblems },
    dingtalkApi: { ...p.apiUsage, monthlyQuota: p.tunables.apiMonthlyQuota },
    nextAlarmAt: p.nextAlarmAt,
  };
}
