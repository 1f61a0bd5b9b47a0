// The app's own DingTalk Stream connection, held by the bridge so that gateway restarts never touch
// DingTalk's routing. One object per app. Every robot message is committed to the app's inbox
// before it is acked on the socket it came in on (link-sockets.ts); an alarm at most 30 s apart keeps
// the object in memory, checks the sockets and reconnects within the budget that keeps DingTalk
// routing (dial.ts, budget.ts).
import { DurableObject } from "cloudflare:workers";
import { AlarmSchedule } from "../lib/alarm-schedule";
import { type Clock, systemClock } from "../lib/clock";
import { log } from "../lib/log";
import { HEALTHY_RESET_MS, pruneOpens } from "./budget";
import { dial } from "./dial";
import { describe, LINK_TIMING, LinkCore } from "./link-core";
import { migrateLink } from "./link-migrations";
import { closeSocket } from "./link-sockets";
import { type LinkPhase, type LinkState, LinkStateStore } from "./link-state";

export interface LinkStatus {
  state: LinkPhase;
  connectedAt: number | null;
  lastFrameAt: number | null;
  lastMessageAt: number | null;
  opens: number[];
  lastError: string | null;
  sockets: number;
  retryAt: number | null;
  counters: LinkState["counters"];
}

export class StreamLink extends DurableObject<Env> {
  /** Replaced by tests that drive time by hand. */
  clock: Clock = systemClock;
  random: () => number = Math.random;
  /** Tests shorten these to see a dead socket or a refresh in seconds. */
  timing = { ...LINK_TIMING };

  private readonly core: LinkCore;
  /** The object restarted with a socket up or opening: the inbox still thinks it is, until told. */
  private lostInRestart: boolean;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrateLink(ctx.storage.sql);
    const store = new LinkStateStore(ctx.storage.sql);
    const state = store.load();
    // The object knows its app from its name; a cold alarm wake may come without one, so it is kept.
    if (ctx.id.name && state.app !== ctx.id.name) state.app = ctx.id.name;
    const schedule = new AlarmSchedule(ctx.storage);
    this.core = new LinkCore(
      env,
      state,
      store,
      this.timing,
      () => this.clock,
      () => this.random(),
      schedule,
      (reason) => dial(this.core, reason),
    );
    // No socket survives a restart, whatever was saved.
    this.lostInRestart = state.phase === "open" || state.phase === "connecting";
    if (this.lostInRestart) {
      state.phase = "backoff";
      state.connectedAt = null;
    }
    this.core.save();
    void ctx.blockConcurrencyWhile(() => schedule.load());
  }

  /** Starts the link if it is down and keeps its alarm armed; called on requests for the app and by cron. */
  async ensure(): Promise<LinkStatus> {
    const core = this.core;
    this.reportRestart();
    if (!this.enabled()) {
      await this.stop("the Stream link is off for this app");
      return this.status();
    }
    await core.schedule.arm(core.now() + this.timing.tickMs);
    if (!core.live().length) await core.dial("start");
    return this.status();
  }

  async status(): Promise<LinkStatus> {
    const s = this.core.state;
    return {
      state: s.phase,
      connectedAt: s.connectedAt,
      lastFrameAt: s.lastFrameAt,
      lastMessageAt: s.lastMessageAt,
      opens: pruneOpens(s.opens, this.core.now()),
      lastError: s.lastError,
      sockets: this.core.sockets.length,
      retryAt: s.retryAt,
      counters: s.counters,
    };
  }

  /** Never throws: a failed alarm is retried a few times by the runtime, then never again. */
  override async alarm(): Promise<void> {
    const on = this.enabled();
    await this.core.schedule.run(
      () => (on ? this.tick() : this.stop("the Stream link is off for this app")),
      () => (on ? this.nextWake() : null),
      (event, error) => log("error", `link_${event}`, { app: this.core.state.app, error: describe(error) }),
    );
  }

  /** The periodic check: dead and drained sockets closed, a healthy stretch forgiven, a connection kept. */
  private async tick(): Promise<void> {
    const core = this.core;
    this.reportRestart();
    const now = core.now();
    for (const sock of [...core.sockets]) {
      if (now - sock.lastFrameAt > this.timing.deadAfterMs)
        closeSocket(core, sock, 4000, `no frame from DingTalk for ${this.timing.deadAfterMs / 1000} s`);
      else if (sock.drainingSince !== null && now - sock.drainingSince > this.timing.drainGraceMs)
        closeSocket(core, sock, 1000, "replaced");
    }
    const oldest = core.live()[0];
    if (oldest && now - oldest.openedAt >= HEALTHY_RESET_MS && core.state.failures > 0) {
      core.state.failures = 0;
      core.state.retryAt = null;
    }
    if (!oldest) await core.dial("no connection");
    else if (now - oldest.openedAt >= this.timing.refreshAfterMs) await core.dial("refresh");
    core.save();
  }

  /** The next check: a tick's length at most, sooner when a retry is due. */
  private nextWake(): number {
    const now = this.core.now();
    const retryAt = this.core.state.retryAt;
    return Math.min(now + this.timing.tickMs, retryAt !== null && retryAt > now ? retryAt : Number.POSITIVE_INFINITY);
  }

  /** Tells the inbox, once, that the connection it last heard of went with a restart of this object. */
  private reportRestart(): void {
    if (!this.lostInRestart) return;
    this.lostInRestart = false;
    void this.core.tellInbox({ type: "down", at: this.core.now(), error: "the link restarted (a deploy or an eviction)" });
  }

  private enabled(): boolean {
    return this.core.appConfig()?.streamLink === true;
  }

  private async stop(why: string): Promise<void> {
    const core = this.core;
    for (const sock of [...core.sockets]) {
      sock.drainingSince ??= core.now();
      try {
        sock.ws.close(1000, why);
      } catch {
        // already closed
      }
    }
    core.sockets = [];
    if (core.state.phase !== "off") {
      core.state.phase = "off";
      core.state.connectedAt = null;
      core.save();
      await core.tellInbox({ type: "down", at: core.now(), error: why });
    }
  }
}
