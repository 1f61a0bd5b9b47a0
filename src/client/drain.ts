// The gateway's drain loop: long-poll, run each ordering key's events one after another and
// different keys side by side, ack on success, nack with backoff on failure, keep every held event
// leased, and stop cleanly.
import type { BridgeClient } from "./bridge-client.js";
import { BridgeError } from "./errors.js";
import { HeldEvents } from "./held-events.js";
import { Settler } from "./settler.js";
import type { StreamHealth } from "./stream-health.js";
import { backoffMs, linkedSignal, retryDelayMs, sleep, Wakeup } from "./timing.js";
import type { BridgeEvent, Mode } from "./types.js";

export interface DrainOptions {
  signal?: AbortSignal;
  /** Events per pull (1-100, default 10). */
  max?: number;
  /** Handlers running at once, each on a different ordering key (default 4). */
  concurrency?: number;
  /** Long-poll wait per pull (the bridge allows up to 25 s). */
  waitMs?: number;
  /** Lease length per pull; by default the bridge's LEASE_MS. */
  leaseMs?: number;
  heartbeatMs?: number;
  streamHealth?: StreamHealth;
  /** Delay before a failed event is offered again, by its attempt number. */
  retryDelayMs?: (attempt: number) => number;
  onError?: (error: unknown, context: string) => void;
  onMode?: (mode: Mode) => void;
  /** Called after every successful pull with the number of events it brought. */
  onPull?: (count: number) => void;
  /**
   * Give up (throw the error) after this many pulls in a row failed for a retryable reason, instead
   * of backing off for ever; for one-shot runs such as `dtbridge tail --once`. Default: never.
   */
  maxPullFailures?: number;
  /**
   * A one-shot run: end once the queue has nothing for this consumer, instead of waiting for more.
   * Events this run nacked that come due within `waitMs` of the queue first running dry are waited
   * for; later ones are counted in the stats.
   */
  once?: boolean;
}

export interface DrainStats {
  acked: number;
  nacked: number;
  pulls: number;
  networkErrors: number;
  /** With `once`: events this run nacked for a retry that had not come back when it ended. */
  retriesPending: number;
  /** When the first of those comes due (this machine's clock), or null. */
  nextRetryAt: number | null;
}

/** The most events one drain holds at once: room for a full pull while half a pull is still in hand. */
const MAX_HELD = 200;
/** The most lease ids one extend call may carry (the bridge's limit). */
const EXTEND_IDS = 100;
/** The most leases one pull may list as held (the bridge's limit): acks stuck in flight count too. */
const HELD_IDS = 1000;

/** What the drain loop asks of the bridge (a BridgeClient, or anything shaped like one). */
export type DrainClient = Pick<BridgeClient, "pull" | "ack" | "nack" | "extend" | "heartbeat" | "handBack">;

export function drain(
  client: DrainClient,
  handler: (event: BridgeEvent) => unknown | Promise<unknown>,
  options: DrainOptions = {},
): Promise<DrainStats> {
  return new DrainRun(client, handler, options).run();
}

class DrainRun {
  private readonly stats: DrainStats = { acked: 0, nacked: 0, pulls: 0, networkErrors: 0, retriesPending: 0, nextRetryAt: null };
  private readonly signal: AbortSignal | undefined;
  private readonly max: number;
  private readonly concurrency: number;
  private readonly waitMs: number;
  private readonly held: HeldEvents;
  private readonly settler: Settler;
  private readonly report: (error: unknown, context: string) => void;
  private readonly jobs = new Set<Promise<void>>();
  private readonly changed = new Wakeup();
  /** Events this run nacked for a retry, by id, with when they come due. */
  private readonly retries = new Map<string, number>();
  private leaseMs: number;
  private mode: Mode | undefined;
  private pollHintMs = 0;
  /** Ends the safety-poll pause in stream mode early, when DingTalk delivers to the bridge again. */
  private pause: AbortController | null = null;
  /** Ends a waiting long poll so the next pull carries a new `held` at once. */
  private kicker: AbortController | null = null;
  private stopping = false;

  constructor(
    private readonly client: DrainClient,
    private readonly handler: (event: BridgeEvent) => unknown | Promise<unknown>,
    private readonly options: DrainOptions,
  ) {
    this.signal = options.signal;
    this.max = options.max ?? 10;
    this.concurrency = Math.min(options.concurrency ?? 4, 100);
    this.waitMs = options.waitMs ?? 20_000;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.held = new HeldEvents(this.concurrency);
    this.report = options.onError ?? (() => {});
    this.settler = new Settler(client, this.report);
  }

  async run(): Promise<DrainStats> {
    const stopHeartbeat = this.startHeartbeat();
    const stopKeeper = this.startLeaseKeeper();
    try {
      await this.pullLoop();
    } finally {
      // The events in hand finish (and are acked or nacked) before anything is handed back.
      this.stopping = true;
      while (this.jobs.size) await Promise.all([...this.jobs]);
      await this.settler.idle();
      stopKeeper();
      stopHeartbeat();
    }
    // Whatever this consumer still holds (events never started, or a pull cut short by the stop) goes
    // back now, its attempt not counted: every ack and nack above has been answered.
    if (this.signal?.aborted || this.held.held().length > 0) await this.client.handBack().catch((e) => this.report(e, "release"));
    const due = [...this.retries.values()];
    this.stats.retriesPending = due.length;
    this.stats.nextRetryAt = due.length ? Math.min(...due) : null;
    return this.stats;
  }

  private async pullLoop(): Promise<void> {
    let release = true;
    let failures = 0;
    /** With `once`: when a pull first found the queue empty. */
    let dryAt: number | null = null;
    while (!this.signal?.aborted) {
      // Pull while a handler slot is free, or to refill once half of what is in hand is done.
      const inHand = this.held.inHand();
      const full = inHand >= MAX_HELD || this.held.size + this.max > HELD_IDS;
      if (full || (inHand > Math.max(this.max, this.concurrency) / 2 && this.held.running >= this.concurrency)) {
        await this.changed.next(this.signal);
        continue;
      }
      const waitMs = this.options.once ? this.onceWaitMs(dryAt) : this.pollHintMs > 0 ? 0 : this.waitMs;
      const kicker = new AbortController();
      this.kicker = waitMs > 0 ? kicker : null;
      const linked = linkedSignal([this.signal, kicker.signal]);
      const number = this.held.pullStarting();
      let events: BridgeEvent[];
      try {
        const res = await this.client.pull({
          max: Math.min(this.max, MAX_HELD - inHand),
          waitMs,
          leaseMs: this.options.leaseMs,
          release,
          held: this.held.held(),
          signal: linked.signal,
        });
        release = false;
        failures = 0;
        this.stats.pulls += 1;
        this.noteMode(res.mode, res.pollHintMs);
        this.leaseMs = res.leaseMs;
        events = res.events;
      } catch (error) {
        if (this.signal?.aborted) break;
        if (kicker.signal.aborted) continue;
        if (error instanceof BridgeError && !error.retryable) throw error;
        if (failures + 1 >= (this.options.maxPullFailures ?? Number.POSITIVE_INFINITY)) throw error;
        this.stats.networkErrors += 1;
        this.report(error, "pull");
        // A lost answer may have carried events leased to us: the next pull's `held` hands them back.
        await sleep(backoffMs(failures++), this.signal);
        continue;
      } finally {
        this.kicker = null;
        linked.release();
      }
      for (const event of events) this.retries.delete(event.id);
      this.held.add(events, number, this.leaseMs);
      this.options.onPull?.(events.length);
      this.start();
      if (events.length > 0) continue;
      if (this.options.once) {
        // Work in hand may still fail and come due again: look again when it is done.
        if (this.jobs.size > 0) await this.changed.next(this.signal);
        else {
          dryAt ??= Date.now();
          if (!this.retryDueBy(dryAt + this.waitMs)) return;
        }
      } else if (this.pollHintMs > 0) {
        this.pause = new AbortController();
        const linked = linkedSignal([this.signal, this.pause.signal]);
        await sleep(this.pollHintMs, linked.signal);
        linked.release();
        this.pause = null;
      }
    }
  }

  /** A one-shot run pulls without waiting, except for its own retries coming due. */
  private onceWaitMs(dryAt: number | null): number {
    if (dryAt === null || this.jobs.size > 0 || !this.retryDueBy(dryAt + this.waitMs)) return 0;
    return Math.max(0, Math.min(25_000, dryAt + this.waitMs - Date.now()));
  }

  private retryDueBy(deadline: number): boolean {
    for (const due of this.retries.values()) if (due <= deadline) return Date.now() < deadline;
    return false;
  }

  /** Hands every event that may start now to the handler. */
  private start(): void {
    // A handler may stop the drain as it starts: check before each one.
    while (!this.stopping && !this.signal?.aborted) {
      const event = this.held.next();
      if (!event) return;
      const job: Promise<void> = this.handle(event).finally(() => {
        this.jobs.delete(job);
        this.changed.ring();
      });
      this.jobs.add(job);
    }
  }

  private async handle(event: BridgeEvent): Promise<void> {
    let failure: unknown = null;
    try {
      await this.handler(event);
    } catch (error) {
      failure = error ?? new Error("handler failed");
    }
    if (failure === null) {
      this.held.finished(event, true);
      this.start();
      this.changed.ring();
      const outcome = await this.settler.ack(event.leaseId);
      this.held.settled(event, "acked");
      if (outcome !== "failed") this.stats.acked += 1;
      return;
    }
    this.report(failure, "handler");
    // The key's waiting events are let go: its retry must run before them.
    this.held.finished(event, false);
    this.start();
    this.changed.ring();
    const delayMs = (this.options.retryDelayMs ?? retryDelayMs)(event.attempt);
    const reason = failure instanceof Error ? failure.message : String(failure);
    const outcome = await this.settler.nack(event.leaseId, delayMs, reason);
    this.held.settled(event, outcome === "deadLettered" ? "deadLettered" : "nacked");
    // Only a one-shot run waits for its retries; a long run would only collect those others took.
    if (outcome === "requeued" && this.options.once) this.retries.set(event.id, Date.now() + delayMs);
    if (outcome !== "failed") this.stats.nacked += 1;
    this.kicker?.abort();
  }

  private noteMode(next: Mode, hint: number): void {
    this.pollHintMs = hint;
    if (hint === 0) this.pause?.abort();
    if (next !== this.mode) {
      this.mode = next;
      this.options.onMode?.(next);
    }
  }

  /** Past half its lease, every held event (running or waiting behind its key) is extended. */
  private startLeaseKeeper(): () => void {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const tick = async () => {
      const due = this.held.dueForExtension(this.leaseMs);
      for (let i = 0; i < due.length && !stopped; i += EXTEND_IDS) {
        const leaseMs = this.leaseMs;
        try {
          const res = await this.client.extend(due.slice(i, i + EXTEND_IDS), leaseMs);
          this.held.extended(res.extended, leaseMs);
          if (this.held.lost(res.stale).length) {
            this.kicker?.abort();
            this.changed.ring();
          }
        } catch (error) {
          this.report(error, "extend");
        }
      }
      if (!stopped) timer = setTimeout(tick, Math.max(250, this.leaseMs / 4));
    };
    timer = setTimeout(tick, Math.max(250, this.leaseMs / 4));
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  private startHeartbeat(): () => void {
    const beat = async () => {
      const stream = this.options.streamHealth?.takeReport();
      try {
        const res = await this.client.heartbeat(stream);
        this.noteMode(res.mode, res.pollHintMs);
      } catch (error) {
        if (stream) this.options.streamHealth?.restore(stream);
        this.report(error, "heartbeat");
      }
    };
    void beat();
    const timer = setInterval(beat, this.options.heartbeatMs ?? 15_000);
    return () => clearInterval(timer);
  }
}
