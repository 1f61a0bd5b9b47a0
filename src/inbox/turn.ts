// One call into the inbox, from its start to its commit. Every RPC method and the alarm run their
// work in a turn: the turn knows the time, feeds the mode machine, queues alerts, hands what became
// leasable to waiting polls, and at its end saves the app's state and arms the alarm for the
// earliest deadline the work met. Raising an alert is a deadline too: alerts leave from the alarm.
import type { AlertQueue } from "../alerts/alert-queue";
import { type AlertEffect, openIncident, resolveIncident } from "../alerts/incidents";
import type { AppConfig } from "../config/apps";
import type { SettingProblem } from "../config/settings";
import type { Tunables } from "../config/tunables";
import type { AlarmSchedule } from "../lib/alarm-schedule";
import { log } from "../lib/log";
import type { Outbox } from "../outbox/outbox";
import type { AppState, AppStateStore } from "./app-state";
import type { ConsumerRegistry } from "./consumer-registry";
import type { EventPages } from "./event-pages";
import type { EventStore } from "./event-store";
import type { LeasedRow } from "./leased-json";
import type { Leases, Returned } from "./leases";
import type { Waiters, WaitingPull } from "./long-poll";
import { type MachineInput, nextDeadline, step, type Transition } from "./mode-machine";
import type { OfflineReplies } from "./offline-replies";
import type { ServedPolls } from "./served-polls";
import type { SignUses } from "./sign-uses";

/** What lives as long as the inbox object: its tables, its waiting polls, its alarm and its state. */
export interface InboxParts {
  readonly storage: DurableObjectStorage;
  readonly events: EventStore;
  readonly leases: Leases;
  readonly pages: EventPages;
  readonly consumers: ConsumerRegistry;
  readonly alerts: AlertQueue;
  readonly appState: AppStateStore;
  readonly signs: SignUses;
  readonly offlineReplies: OfflineReplies;
  readonly outbox: Outbox;
  readonly waiters: Waiters<LeasedRow>;
  readonly served: ServedPolls;
  readonly schedule: AlarmSchedule;
  readonly state: AppState;
  /** When this object instance sweeps next; 0 until its first alarm has swept. */
  readonly sweeps: { nextAt: number };
  /** Alerts and send retries under way beside the alarm, if any. */
  readonly deliveries: { running: Promise<void> | null };
  tunables(): Tunables;
  /** This app's settings; undefined when the configuration no longer has it. */
  app(): AppConfig | undefined;
  /** Settings that were malformed and fell back to their defaults. */
  configProblems(): readonly SettingProblem[];
}

export class Turn {
  private wakeAt: number | null = null;
  /** Read once per turn: the configuration does not change under a running call. */
  readonly tunables: Tunables;

  constructor(
    readonly parts: InboxParts,
    readonly now: number,
  ) {
    this.tunables = parts.tunables();
  }

  get state(): AppState {
    return this.parts.state;
  }

  /** The alarm must run by `at` (null: nothing to wait for). */
  wakeBy(at: number | null | undefined): void {
    if (at === null || at === undefined) return;
    if (this.wakeAt === null || at < this.wakeAt) this.wakeAt = at;
  }

  /** Runs one input through the mode machine, keeping its transitions and alerts. */
  feed(input: MachineInput): void {
    const out = step(this.state.machine, input, this.tunables, this.state.robotUrl);
    this.state.machine = out.state;
    this.record(out.transitions);
    this.raise(out.alerts);
    this.wakeBy(nextDeadline(out.state, this.tunables));
  }

  /** Keeps transitions for the status timeline, and logs each. */
  record(transitions: readonly Transition[]): void {
    this.parts.appState.record(transitions);
    for (const t of transitions) log("info", "transition", { app: this.state.app, ...t });
  }

  /** Queues alerts for the alarm to send now; never from the request that raised them. */
  raise(alerts: readonly AlertEffect[]): void {
    if (alerts.length === 0) return;
    this.parts.alerts.add(this.state.app, alerts);
    this.wakeBy(this.now);
  }

  /** Leases what `pull` may take and counts it; remembers the leases under the pull's id. */
  lease(pull: WaitingPull): LeasedRow[] {
    const events = this.parts.leases.lease({ max: pull.max, now: this.now, leaseMs: pull.leaseMs, consumer: pull.consumer });
    if (events.length === 0) return events;
    this.state.counters.leased += events.length;
    if (pull.pollId)
      this.parts.served.remember(
        pull.pollId,
        events.map((e) => e.lease_id!),
        this.now,
      );
    this.wakeBy(this.now + pull.leaseMs);
    return events;
  }

  /** Hands what is leasable to the polls waiting for it, oldest poll first, in this same step. */
  serveWaiters(): void {
    if (this.parts.waiters.size) this.parts.waiters.serve((pull) => this.lease(pull));
  }

  /** Counts the dead letters a release or an expiry made; answers how many events came back. */
  takeBack(back: Returned): number {
    this.deadLettered(back.dead, "lease expired or released with its attempts spent");
    return back.returned;
  }

  /** Counts and logs events that became dead letters. */
  deadLettered(n: number, reason: string): void {
    if (n === 0) return;
    this.state.counters.deadLettered += n;
    log("warn", "dead_letter", { app: this.state.app, count: n, reason: reason.slice(0, 200) });
  }

  /** A malformed setting raises one `config` alert per app, and its resolution once fixed. */
  private reviewConfig(): void {
    const problems = this.parts.configProblems();
    const open = this.state.incidents;
    if (problems.length && open.config === undefined) {
      this.raise(
        openIncident(open, "config", this.now, {
          title: "Some settings are malformed: the bridge uses their defaults",
          text: `${problems.map((p) => `${p.setting}: ${p.problem}`).join("\n")}\nEvery app keeps taking messages. Fix the settings and deploy again.`,
        }),
      );
    } else if (!problems.length && open.config !== undefined) {
      this.raise(
        resolveIncident(open, "config", this.now, {
          title: "The settings are well-formed again",
          text: "No setting falls back to its default.",
        }),
      );
    }
  }

  /**
   * The end of the call: whatever the work made leasable goes to the polls waiting for it (in the
   * same synchronous step, so their leases commit with the work), the state is saved once, and the
   * alarm is armed for the earliest deadline met.
   */
  async end(): Promise<void> {
    this.serveWaiters();
    this.reviewConfig();
    this.parts.appState.save(this.state);
    if (this.wakeAt !== null) await this.parts.schedule.arm(this.wakeAt);
  }
}
