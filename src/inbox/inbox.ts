// One inbox per app: a SQLite-backed Durable Object that commits every verified message before
// DingTalk gets its answer, leases events to consumers, sends through DingTalk, and runs the mode
// machine and every deadline from one alarm. This class only conducts: each RPC method runs its work
// in a turn (turn.ts), and the work itself lives in the file named for it.
import { DurableObject } from "cloudflare:workers";
import { AlertQueue } from "../alerts/alert-queue";
import type { AppConfig } from "../config/apps";
import { type BridgeConfig, loadConfig } from "../config/load";
import type { Tunables } from "../config/tunables";
import { AlarmSchedule } from "../lib/alarm-schedule";
import { BurstBatch, settleEach } from "../lib/burst-batch";
import { type Clock, systemClock } from "../lib/clock";
import { log } from "../lib/log";
import { Outbox, type SendOutcome } from "../outbox/outbox";
import type { SendRequest } from "../outbox/send-store";
import { alarmWork, nextWake } from "./alarm-work";
import { AppStateStore } from "./app-state";
import * as consume from "./consume";
import { ConsumerRegistry } from "./consumer-registry";
import { EventPages, type HistoryFilter } from "./event-pages";
import type { StoredEventRow } from "./event-row";
import { EventStore } from "./event-store";
import { ingest } from "./ingest";
import type { LeasedRow } from "./leased-json";
import { Leases } from "./leases";
import { reportLink } from "./link-report";
import { Waiters } from "./long-poll";
import { migrateInbox } from "./migrations";
import { OfflineReplies } from "./offline-replies";
import { rejected } from "./rejections";
import { type ReplayRequest, type ReplayResult, replay } from "./replay";
import { ServedPolls } from "./served-polls";
import { setAsideResolved } from "./set-aside";
import { SignUses } from "./sign-uses";
import { statusView } from "./status-view";
import { type InboxParts, Turn } from "./turn";
import type { HeartbeatRequest, IngestRequest, IngestResult, LinkEvent, PullRequest, PullResult } from "./types";
import { watchApiQuota, watchIpAllowlist } from "./watch";

/**
 * Callbacks each within a millisecond of the one before are a burst, committed together after the
 * first has waited a millisecond for the rest (lib/burst-batch.ts; the README's Measurements say why
 * these two values).
 */
const INGEST_BATCHING = { burstMs: 1, gatherMs: 1 };

export class Inbox extends DurableObject<Env> {
  /** Replaced by tests that drive time-based behaviour by hand. */
  clock: Clock = systemClock;
  /** Set by tests that need other thresholds than the Worker's vars. */
  tunableOverrides: Partial<Tunables> | null = null;

  private readonly parts: InboxParts;
  private readonly ingests = new BurstBatch<IngestRequest, IngestResult>(
    (reqs) => this.turn((t) => settleEach(reqs, (req) => ingest(t, req))),
    // Read through `this`: a test swaps the clock after the object is built.
    { now: () => this.clock.now() },
    INGEST_BATCHING,
  );

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    migrateInbox(sql);
    const appState = new AppStateStore(sql);
    const state = appState.load();
    // The object knows its app from its name; a cold alarm wake may come without one, so it is kept.
    const name = ctx.id.name;
    if (name && state.app !== name) {
      state.app = name;
      appState.save(state);
    }
    const tunables = () => this.tunables();
    const app = () => this.appConfig();
    const leases = new Leases(sql, () => tunables().maxAttempts);
    const events = new EventStore(sql);
    this.parts = {
      storage: ctx.storage,
      events,
      leases,
      pages: new EventPages(sql, leases.keys),
      consumers: new ConsumerRegistry(sql),
      alerts: new AlertQueue(sql),
      appState,
      signs: new SignUses(sql),
      offlineReplies: new OfflineReplies(sql),
      outbox: new Outbox(sql, {
        clock: { now: () => this.clock.now() },
        app,
        apiBase: () => loadConfig(this.env).apiBase,
        findEvent: (id) => events.byId(id),
      }),
      waiters: new Waiters<LeasedRow>(),
      served: new ServedPolls(),
      schedule: new AlarmSchedule(ctx.storage),
      state,
      sweeps: { nextAt: 0 },
      deliveries: { running: null },
      tunables,
      app,
      configProblems: () => loadConfig(this.env).problems,
    };
    void ctx.blockConcurrencyWhile(() => this.parts.schedule.load());
  }

  // ---- from DingTalk ---------------------------------------------------------------------------

  /** Commits a message before its answer; a burst of them share one turn and one commit. */
  ingest(req: IngestRequest): Promise<IngestResult> {
    return this.ingests.add(req);
  }

  /** A callback refused at the door (its code only: nothing of it is stored). */
  rejected(code: string): Promise<void> {
    return this.turn((t) => rejected(t, code));
  }

  /** The app's Stream link reports what it saw: its opens and losses feed the mode machine first-hand. */
  linkEvent(event: LinkEvent): Promise<void> {
    return this.turn((t) => reportLink(t, event));
  }

  // ---- consumers -------------------------------------------------------------------------------

  async pull(req: PullRequest): Promise<PullResult> {
    const { result, leased, wait } = await this.turn((t) => consume.pull(t, req));
    // Whoever frees events for a waiting pull leases them to it, and counts and saves them.
    const events = wait ? await this.parts.waiters.wait(req.waitMs, wait) : leased;
    return { ...result, events: events.map((e) => e.json) };
  }

  cancelPull(pollId: string): Promise<{ cancelled: boolean; returned: number }> {
    return this.turn((t) => consume.cancelPull(t, pollId));
  }

  ack(leaseIds: string[]) {
    return this.turn((t) => consume.ack(t, leaseIds));
  }

  nack(leaseIds: string[], delayMs: number, reason: string) {
    return this.turn((t) => consume.nack(t, leaseIds, delayMs, reason));
  }

  extend(leaseIds: string[], leaseMs: number) {
    return this.turn((t) => consume.extend(t, leaseIds, leaseMs));
  }

  heartbeat(req: HeartbeatRequest) {
    return this.turn((t) => consume.heartbeat(t, req));
  }

  // ---- sending ---------------------------------------------------------------------------------

  /** Sends through DingTalk once per key; what DingTalk cannot take now waits in the outbox. */
  async send(key: string, request: SendRequest): Promise<SendOutcome> {
    const outcome = await this.parts.outbox.send(key, request);
    await this.turn((t) => {
      t.wakeBy(this.parts.outbox.nextDue());
      watchApiQuota(t);
      watchIpAllowlist(t);
    });
    return outcome;
  }

  async sendFate(key: string) {
    return this.parts.outbox.fate(key);
  }

  async outbox(fate: "queued" | "sent" | "refused" | "failed" | "cancelled" | undefined, limit: number) {
    return this.parts.outbox.list(fate, limit);
  }

  /** Queued sends given up on an operator's word. */
  cancelSends(keys: string[]) {
    return this.turn(() => this.parts.outbox.cancel(keys));
  }

  /** For `dtbridge doctor`: the app's credentials, its robot permission and, when asked, its alert sink, checked now. */
  async diagnose(req: { sink: boolean }) {
    const t = this.tunables();
    const sink = t.alertWebhookUrl ? { url: t.alertWebhookUrl, secret: t.alertWebhookSecret } : null;
    const [dingtalk, alertSink] = await Promise.all([
      this.parts.outbox.diagnose(),
      req.sink ? this.parts.alerts.sendTest(this.clock.now(), sink, this.parts.state.app ?? "unknown") : null,
    ]);
    return { ...dingtalk, alertSink };
  }

  // ---- reading and operating -------------------------------------------------------------------

  /** For /health: the object is up and its storage answers. */
  async health(): Promise<true> {
    this.ctx.storage.sql.exec("SELECT 1");
    return true;
  }

  async status() {
    const { parts } = this;
    const now = this.clock.now();
    return statusView({
      app: parts.state.app ?? "",
      now,
      state: parts.state,
      counts: parts.pages.counts(),
      consumers: parts.consumers.list(),
      transitions: parts.appState.recentTransitions(50),
      alerts: parts.alerts.recent(20),
      storageBytes: this.ctx.storage.sql.databaseSize,
      outbox: { ...parts.outbox.pending(), recent: parts.outbox.recent(20) },
      tunables: this.tunables(),
      modeView: consume.modeView(parts),
      ordering: this.appConfig()?.ordering ?? "conversation",
      configProblems: parts.configProblems(),
      apiUsage: parts.outbox.apiUsage(now),
      nextAlarmAt: parts.schedule.next,
    });
  }

  async history(afterSeq: number, limit: number, desc = false, filter: HistoryFilter = {}): Promise<StoredEventRow[]> {
    return this.parts.pages.history(afterSeq, limit, desc, filter);
  }

  /** Delivered events queued again as new deliveries, on an operator's word. */
  replay(req: ReplayRequest): Promise<ReplayResult> {
    return this.turn((t) => replay(t, req));
  }

  async deadLetters(afterSeq: number, limit: number): Promise<StoredEventRow[]> {
    return this.parts.pages.deadLetters(afterSeq, limit);
  }

  redrive(ids: string[] | null) {
    return this.turn((t) => {
      const redriven = t.parts.events.redrive(ids, t.now);
      setAsideResolved(t);
      return { redriven };
    });
  }

  /** Deletes dead letters on an operator's word: the only way an undelivered event is ever deleted. */
  purge(ids: string[] | null) {
    return this.turn((t) => {
      const purged = t.parts.events.purgeDead(ids);
      setAsideResolved(t);
      return { purged };
    });
  }

  // ---- time ------------------------------------------------------------------------------------

  /** One alarm serves every deadline. It never throws: a failed alarm is retried a few times, then never again. */
  override async alarm(): Promise<void> {
    const removed = this.removed();
    await this.parts.schedule.run(
      async () => {
        if (!removed) await alarmWork(this.parts, this.clock);
      },
      () => (removed ? null : nextWake(this.parts, this.clock.now())),
      (event, error) =>
        log("error", `inbox_${event}`, { app: this.parts.state.app, error: error instanceof Error ? error.message : String(error) }),
    );
  }

  // ---- plumbing --------------------------------------------------------------------------------

  /** Runs `work` in a turn: one time, one save, one alarm for the earliest deadline it met. */
  private async turn<T>(work: (t: Turn) => T): Promise<T> {
    const t = new Turn(this.parts, this.clock.now());
    const result = work(t);
    await t.end();
    return result;
  }

  private tunables(): Tunables {
    const base = loadConfig(this.env).tunables;
    return this.tunableOverrides ? { ...base, ...this.tunableOverrides } : base;
  }

  /** This app's settings, once the object knows which app it is. */
  private appConfig(): AppConfig | undefined {
    const app = this.parts?.state.app;
    return app ? loadConfig(this.env).apps.get(app) : undefined;
  }

  /**
   * An app taken out of the configuration stops its alarm, saying so once in the log; its data
   * stays, and it carries on if the app comes back.
   */
  private removed(): boolean {
    const app = this.parts.state.app;
    if (!app) return false;
    let config: BridgeConfig;
    try {
      config = loadConfig(this.env);
    } catch {
      return false; // a configuration that does not load at all is an operator's mistake, not a removal
    }
    if (config.apps.has(app) || config.brokenApps.has(app) || config.brokenApps.has("*")) return false;
    log("warn", "app_removed", { app, message: "the app is no longer configured: its inbox stops its alarm and keeps its data" });
    return true;
  }
}
