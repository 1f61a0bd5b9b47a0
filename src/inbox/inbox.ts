// One inbox per app: a SQLite-backed Durable Object that commits every verified message before
// DingTalk gets its answer, leases events to consumers, and runs the mode machine from one alarm.
import { DurableObject } from "cloudflare:workers";
import type { AppConfig } from "../config/apps";
import { loadConfig } from "../config/load";
import type { Tunables } from "../config/tunables";
import { type Clock, systemClock } from "../lib/clock";
import { newId } from "../lib/ids";
import { log } from "../lib/log";
import { Outbox, type SendAnswer } from "../outbox/outbox";
import type { SendRequest } from "../outbox/send-store";
import { AlarmSchedule } from "./alarm-schedule";
import { AlertOutbox } from "./alert-outbox";
import { type AppState, AppStateStore } from "./app-state";
import { ConsumerRegistry } from "./consumer-registry";
import { EventStore, type Returned, type StoredEventRow } from "./event-store";
import { linkAlerts, linkTransition } from "./link-report";
import { Waiters, type WaitingPull } from "./long-poll";
import { migrate } from "./migrations";
import { type AlertEffect, type MachineInput, nextDeadline, pollHintMs, type StreamReport, step, type Transition } from "./mode-machine";
import { OfflineReplies } from "./offline-replies";
import { retentionAlerts } from "./retention-alerts";
import { ServedPolls } from "./served-polls";
import { SignUses } from "./sign-uses";
import { statusView } from "./status-view";
import type { HeartbeatRequest, IngestRequest, IngestResult, LinkEvent, PullRequest, PullResult } from "./types";

const HOUR = 3_600_000;

export class Inbox extends DurableObject<Env> {
  /** Replaced by tests that drive time-based behaviour by hand. */
  clock: Clock = systemClock;
  /** Set by tests that need other thresholds than the Worker's vars. */
  tunableOverrides: Partial<Tunables> | null = null;

  private readonly events: EventStore;
  private readonly appState: AppStateStore;
  private readonly consumers: ConsumerRegistry;
  private readonly alerts: AlertOutbox;
  private readonly signUses: SignUses;
  private readonly offlineReplies: OfflineReplies;
  private readonly outbox: Outbox;
  private readonly waiters = new Waiters<StoredEventRow>();
  private readonly served = new ServedPolls();
  private state: AppState;
  private readonly schedule: AlarmSchedule;
  /** The first alarm in each instance sweeps, then one sweep per interval (leases wake it far more often). */
  private nextSweepAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    migrate(sql);
    this.events = new EventStore(sql, () => this.tunables.maxAttempts);
    this.appState = new AppStateStore(sql);
    this.consumers = new ConsumerRegistry(sql);
    this.alerts = new AlertOutbox(sql);
    this.signUses = new SignUses(sql);
    this.offlineReplies = new OfflineReplies(sql);
    this.outbox = new Outbox(sql, {
      clock: { now: () => this.clock.now() },
      app: () => this.appConfig(),
      apiBase: () => loadConfig(this.env).apiBase,
      findEvent: (id) => this.events.byId(id),
      raise: (alerts) => this.raise(alerts),
    });
    this.state = this.appState.load();
    this.schedule = new AlarmSchedule(ctx.storage);
    void ctx.blockConcurrencyWhile(async () => {
      await this.schedule.load();
    });
  }

  private get tunables(): Tunables {
    const base = loadConfig(this.env).tunables;
    return this.tunableOverrides ? { ...base, ...this.tunableOverrides } : base;
  }

  // ---- ingress ---------------------------------------------------------------------------------

  async ingest(req: IngestRequest): Promise<IngestResult> {
    const now = this.clock.now();
    this.adopt(req.app, req.robotUrl);
    if (req.signTimestamp !== undefined && req.msgId !== null && !this.signUses.claim(req.signTimestamp, req.msgId)) {
      return { stored: false, outcome: "duplicate", offlineReply: null, refused: "sign_reused" };
    }
    const outcome = this.events.insert({
      id: newId("evt"),
      kind: req.kind,
      source: req.source,
      dedupKey: req.dedupKey,
      receivedAt: now,
      payload: req.payload,
      conversationId: req.conversationId,
      streamMsgId: req.msgId,
      deadReason: req.deadReason,
    });
    // In the same synchronous step: a waiting pull's lease joins the insert in one commit.
    const served = outcome === "ready" ? this.serveWaiters(now) : null;
    this.count(req, outcome);
    const robot = req.kind === "robot" && req.deadReason === undefined;
    const machineDue = robot ? this.apply({ type: req.source === "stream" ? "stream_message" : "callback", at: now }) : null;
    const offlineReply = outcome === "ready" && robot && req.source === "webhook" ? this.offlineReplyFor(req.conversationId) : null;
    await this.settle(served, machineDue, now + this.sweepIntervalMs());
    return { stored: outcome !== "duplicate", outcome, offlineReply, refused: null };
  }

  private count(req: IngestRequest, outcome: IngestResult["outcome"]): void {
    const c = this.state.counters;
    if (outcome === "duplicate") c.duplicates += 1;
    else if (req.kind === "robot") c.callbacksAccepted += 1;
    else c.eventsAccepted += 1;
    if (outcome === "suppressed") c.streamSuppressed += 1;
    if (outcome === "dead") this.deadLettered(1, req.deadReason ?? "invalid");
  }

  /** The offline text goes to each conversation once per outage. */
  private offlineReplyFor(conversationId: string | null): string | null {
    const text = this.tunables.offlineReplyText;
    const since = this.state.machine.outageSince;
    if (!text || since === null || !conversationId) return null;
    return this.offlineReplies.claim(conversationId, since) ? text : null;
  }

  // ---- consumers -------------------------------------------------------------------------------

  async pull(req: PullRequest): Promise<PullResult> {
    this.adopt(req.app, req.robotUrl);
    const now = this.clock.now();
    const wanted: WaitingPull = {
      max: req.max,
      leaseMs: req.leaseMs ?? this.tunables.leaseMs,
      consumer: req.consumer ?? null,
      pollId: req.pollId ?? null,
    };
    let released = 0;
    if (req.release && wanted.consumer) {
      // A consumer that releases has restarted, lost a response or is stopping: its older polls,
      // possibly still waiting here for a client that is gone, must not be handed anything.
      this.waiters.drop(wanted.consumer);
      released = this.takeBack(this.events.release(wanted.consumer, now));
    }
    const reclaimed = this.reclaim(now);
    // Others may be waiting for what just came back; they were here first.
    const served = released || reclaimed ? this.serveWaiters(now) : null;
    this.state.lastPullAt = now;
    if (wanted.consumer) this.consumers.seen(wanted.consumer, now);
    const machineDue = this.apply({ type: "pull", at: now, consumer: wanted.consumer ?? "(anonymous)" });
    const events = wanted.max > 0 ? this.leaseTo(wanted, now) : [];
    await this.settle(served, machineDue, events.length ? now + wanted.leaseMs : null);
    const view = { released, leaseMs: wanted.leaseMs, ...this.modeView() };
    if (events.length || req.waitMs === 0 || wanted.max === 0) return { events, ...view };
    // Whoever frees events for this pull leases them to it, and counts and saves them.
    return { events: await this.waiters.wait(req.waitMs, wanted), ...view };
  }

  /**
   * The pull's request ended (its client went away): a poll still waiting ends with nothing, and a
   * poll answered moments ago gives its leases back, since nobody received them.
   */
  async cancelPull(app: string, pollId: string): Promise<{ cancelled: boolean; returned: number }> {
    this.adopt(app);
    if (this.waiters.cancel(pollId)) return { cancelled: true, returned: 0 };
    const leaseIds = this.served.take(pollId);
    if (!leaseIds?.length) return { cancelled: false, returned: 0 };
    const now = this.clock.now();
    const returned = this.events.unlease(leaseIds, now);
    await this.settle(returned ? this.serveWaiters(now) : null);
    return { cancelled: true, returned };
  }

  async ack(app: string, leaseIds: string[]) {
    this.adopt(app);
    const acked = this.events.ack(leaseIds, this.clock.now());
    this.state.counters.acked += acked.length;
    await this.settle();
    return { acked, stale: notIn(leaseIds, acked) };
  }

  async nack(app: string, leaseIds: string[], delayMs: number, reason: string) {
    this.adopt(app);
    const now = this.clock.now();
    const returned = this.events.nack(leaseIds, now, delayMs, reason);
    const dead = returned.filter((r) => r.dead).map((r) => r.leaseId);
    const requeued = returned.filter((r) => !r.dead).map((r) => r.leaseId);
    this.state.counters.nacked += returned.length;
    this.deadLettered(dead.length, reason);
    const visible = requeued.length > 0 && delayMs === 0;
    const served = visible ? this.serveWaiters(now) : null;
    await this.settle(served, requeued.length && !visible ? now + delayMs : null);
    return {
      requeued,
      deadLettered: dead,
      stale: notIn(
        leaseIds,
        returned.map((r) => r.leaseId),
      ),
    };
  }

  async extend(app: string, leaseIds: string[], leaseMs: number) {
    this.adopt(app);
    const leaseExpiresAt = this.clock.now() + leaseMs;
    const extended = this.events.extend(leaseIds, leaseExpiresAt);
    return { extended, leaseExpiresAt, stale: notIn(leaseIds, extended) };
  }

  async heartbeat(req: HeartbeatRequest) {
    this.adopt(req.app);
    const now = this.clock.now();
    // The msgIds are acted on here and not kept with the consumer's last report.
    const { msgIds = [], ...report } = req.stream ?? { connected: false };
    const stream: StreamReport | undefined = req.stream ? report : undefined;
    this.consumers.seen(req.consumer, now, stream);
    const suppressed = this.events.suppressStreamDuplicates(msgIds, now);
    this.state.counters.streamSuppressed += suppressed;
    await this.settle(this.apply({ type: "heartbeat", at: now, consumer: req.consumer, stream }));
    return { suppressed, ...this.modeView() };
  }

  /** The app's Stream link reports what it saw: its opens and losses feed the mode machine first-hand. */
  async linkEvent(app: string, event: LinkEvent): Promise<void> {
    this.adopt(app);
    const due =
      event.type === "opened" || event.type === "down"
        ? this.apply({ type: "link", at: event.at, connected: event.type === "opened" })
        : null;
    const moved = linkTransition(this.state.link, event);
    if (moved) {
      this.state.link = moved.to;
      this.record([moved]);
    }
    const alerts = linkAlerts(this.state.incidents, event, this.state.robotUrl);
    this.raise(alerts);
    await this.settle(due, alerts.length ? event.at : null);
  }

  // ---- sending ---------------------------------------------------------------------------------

  /** Sends through DingTalk once per key; what DingTalk cannot take now waits in the outbox. */
  async send(app: string, key: string, request: SendRequest): Promise<SendAnswer> {
    this.adopt(app);
    const answer = await this.outbox.send(key, request);
    await this.settle(this.outbox.nextDue());
    return answer;
  }

  async sendFate(app: string, key: string) {
    this.adopt(app);
    return this.outbox.fate(key);
  }

  // ---- reading and operating -------------------------------------------------------------------

  /** For /health: the object is up and its storage answers. */
  async health(): Promise<true> {
    this.ctx.storage.sql.exec("SELECT 1");
    return true;
  }

  async status(app: string) {
    this.adopt(app);
    return statusView({
      app,
      now: this.clock.now(),
      state: this.state,
      counts: this.events.counts(),
      consumers: this.consumers.list(),
      transitions: this.appState.recentTransitions(50),
      alerts: this.alerts.recent(20),
      storageBytes: this.ctx.storage.sql.databaseSize,
      outbox: { ...this.outbox.pending(), recent: this.outbox.recent(20) },
      tunables: this.tunables,
      modeView: this.modeView(),
      nextAlarmAt: this.schedule.next,
    });
  }

  async history(app: string, afterSeq: number, limit: number, desc = false): Promise<StoredEventRow[]> {
    this.adopt(app);
    return this.events.history(afterSeq, limit, desc);
  }

  async deadLetters(app: string, afterSeq: number, limit: number): Promise<StoredEventRow[]> {
    this.adopt(app);
    return this.events.deadLetters(afterSeq, limit);
  }

  async redrive(app: string, ids: string[] | null) {
    this.adopt(app);
    const now = this.clock.now();
    const redriven = this.events.redrive(ids, now);
    await this.settle(redriven ? this.serveWaiters(now) : null);
    return { redriven };
  }

  /** Deletes dead letters on an operator's word: the only way an undelivered event is ever deleted. */
  async purge(app: string, ids: string[] | null) {
    this.adopt(app);
    return { purged: this.events.purgeDead(ids) };
  }

  // ---- time ------------------------------------------------------------------------------------

  /**
   * One alarm serves every deadline: leases, delays, silence thresholds, alert and send retries,
   * retention. It never throws: a failed alarm is retried a few times by the runtime, then never again.
   */
  override async alarm(): Promise<void> {
    await this.schedule.run(
      () => this.tick(),
      () => this.nextWake(this.clock.now()),
      (event, error) => log("error", event, { app: this.state.app, error: error instanceof Error ? error.message : String(error) }),
    );
  }

  private async tick(): Promise<void> {
    const now = this.clock.now();
    this.reclaim(now);
    // A consumer waiting in a long poll right now is attached, however long ago it pulled.
    this.apply(this.waiters.size ? { type: "waiting", at: now } : { type: "tick", at: now });
    if (now >= this.nextSweepAt) {
      this.sweep(now);
      this.nextSweepAt = now + this.sweepIntervalMs();
    }
    // Leases that ran out, and nack delays that ended, go to whoever is waiting.
    this.serveWaiters(now);
    this.appState.save(this.state);
    // Alerts first: they matter most exactly when DingTalk is unreachable and sends are slow.
    const t = this.tunables;
    const sink = t.alertWebhookUrl ? { url: t.alertWebhookUrl, secret: t.alertWebhookSecret } : null;
    await this.alerts.flush(now, sink, this.state.app ?? "unknown", this.clock);
    await this.outbox.retryDue();
    // A send that failed for good in the retries raised an alert: it leaves now, not at the next wake.
    await this.alerts.flush(this.clock.now(), sink, this.state.app ?? "unknown", this.clock);
  }

  private nextWake(now: number): number {
    const t = this.tunables;
    const candidates = [
      this.nextSweepAt || now + this.sweepIntervalMs(),
      this.events.nextDeadline(now),
      nextDeadline(this.state.machine, t),
      this.alerts.nextDue(),
      this.outbox.nextDue(),
    ].filter((x): x is number => typeof x === "number");
    return Math.max(now, Math.min(...candidates));
  }

  /**
   * The end of every request that changed something: one save of the app state, and the alarm
   * armed for the earliest of `deadlines`. Helpers above only change the state in memory.
   */
  private async settle(...deadlines: (number | null)[]): Promise<void> {
    this.appState.save(this.state);
    const due = deadlines.filter((d): d is number => d !== null);
    if (due.length) await this.schedule.arm(Math.min(...due));
  }

  /** Expired leases back to the queue (or the dead letters); answers how many. */
  private reclaim(now: number): number {
    const back = this.events.reclaimExpired(now);
    this.state.counters.expired += back.returned;
    return this.takeBack(back);
  }

  /** Counts the dead letters a release or an expiry made; answers how many events came back. */
  private takeBack(back: Returned): number {
    this.deadLettered(back.dead, "lease expired or released with its attempts spent");
    return back.returned;
  }

  /** Counts and logs events that became dead letters. */
  private deadLettered(n: number, reason: string): void {
    if (n === 0) return;
    this.state.counters.deadLettered += n;
    log("warn", "dead_letter", { app: this.state.app, count: n, reason: reason.slice(0, 200) });
  }

  /** Leases visible events to one pull and counts them; remembers them under the pull's id. */
  private leaseTo(pull: WaitingPull, now: number): StoredEventRow[] {
    const events = this.events.lease({ max: pull.max, now, leaseMs: pull.leaseMs, consumer: pull.consumer });
    this.state.counters.leased += events.length;
    if (pull.pollId && events.length)
      this.served.remember(
        pull.pollId,
        events.map((e) => e.lease_id!),
        now,
      );
    return events;
  }

  /** Serves waiting long polls from the queue, synchronously; answers when the first lease it made runs out. */
  private serveWaiters(now: number): number | null {
    let earliestExpiry: number | null = null;
    this.waiters.serve((pull) => {
      const events = this.leaseTo(pull, now);
      if (events.length) earliestExpiry = Math.min(earliestExpiry ?? Infinity, now + pull.leaseMs);
      return events;
    });
    return earliestExpiry;
  }

  /** Deletes what was delivered long enough ago, and raises what retention cannot fix by itself. */
  private sweep(now: number): void {
    const t = this.tunables;
    const cutoff = now - t.retentionMs;
    this.events.sweep(cutoff);
    this.appState.sweep(cutoff);
    this.consumers.sweep(cutoff);
    this.alerts.sweep(cutoff);
    this.offlineReplies.sweep(cutoff);
    this.outbox.sweep(cutoff);
    this.signUses.sweep(now - t.signWindowMs - HOUR);
    const counts = this.events.counts();
    this.raise(
      retentionAlerts(
        this.state.incidents,
        {
          now,
          oldestUndeliveredAt: counts.oldestUndeliveredReceivedAt,
          undelivered: counts.ready + counts.leased + counts.dead,
          storageBytes: this.ctx.storage.sql.databaseSize,
        },
        t,
      ),
    );
  }

  private sweepIntervalMs(): number {
    return Math.max(1000, Math.min(HOUR, Math.floor(this.tunables.retentionMs / 4)));
  }

  // ---- the mode machine and alerts -------------------------------------------------------------

  /**
   * Runs one input through the machine and records its transitions and alerts; answers when the
   * alarm must next run for it. Alerts leave from the alarm, never from the request that raised them.
   */
  private apply(input: MachineInput): number | null {
    const out = step(this.state.machine, input, this.tunables, this.state.robotUrl);
    this.state.machine = out.state;
    this.record(out.transitions);
    this.raise(out.alerts);
    return out.alerts.length ? input.at : nextDeadline(out.state, this.tunables);
  }

  /** Keeps transitions for the status timeline, and logs each. */
  private record(transitions: readonly Transition[]): void {
    this.appState.record(transitions);
    for (const t of transitions) log("info", "transition", { app: this.state.app, ...t });
  }

  /** Queues alerts for the alarm to send, and logs each as it is raised. */
  private raise(alerts: readonly AlertEffect[]): void {
    this.alerts.add(this.state.app, alerts);
  }

  private modeView() {
    return { mode: this.state.machine.mode, pollHintMs: pollHintMs(this.state.machine, this.tunables, this.linkOn()) };
  }

  private linkOn(): boolean {
    return this.appConfig()?.streamLink === true;
  }

  /** This app's settings, once the object knows which app it is. */
  private appConfig(): AppConfig | undefined {
    return this.state.app === null ? undefined : loadConfig(this.env).apps.get(this.state.app);
  }

  /** The object learns its app name from the first request, for alerts raised by the alarm. */
  private adopt(app: string, robotUrl?: string): void {
    if (this.state.app === null) this.state.app = app;
    if (robotUrl) this.state.robotUrl = robotUrl;
  }
}

function notIn(all: readonly string[], some: readonly string[]): string[] {
  const set = new Set(some);
  return all.filter((x) => !set.has(x));
}
