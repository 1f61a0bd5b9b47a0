// The app's own DingTalk Stream connection, held by the bridge so that gateway restarts never touch
// DingTalk's routing. One object per app. Every robot message is committed to the app's inbox
// before it is acked on the socket it came in on; an alarm at most 30 s apart keeps the object in
// memory, checks the sockets and reconnects within the budget that keeps DingTalk routing.
import { DurableObject } from "cloudflare:workers";
import { loadConfig } from "../config/load";
import type { LinkEvent } from "../inbox/types";
import { type Clock, systemClock } from "../lib/clock";
import { log } from "../lib/log";
import { backoffMs, HEALTHY_RESET_MS, planOpen, pruneOpens, REFUSED_RETRY_MS } from "./budget";
import { ingestRequestFor } from "./frame-ingest";
import { ackFor, frameKind, parseFrame, type StreamFrame, unreadableFrame } from "./frames";
import { type LinkPhase, type LinkState, LinkStateStore } from "./link-state";
import { openRequest, readOpenResponse, socketUrl } from "./open-connection";
import { send, upgrade } from "./socket";

export const LINK_TIMING = {
  /** The alarm's longest sleep: it keeps the object in memory and the sockets checked. */
  tickMs: 30_000,
  /** A socket with no frame from DingTalk for this long is dead (DingTalk pings every 20-30 s). */
  deadAfterMs: 90_000,
  /** A socket DingTalk asked to leave, or that a refresh replaced, is closed by us after this at the latest. */
  drainGraceMs: 15_000,
  /** A connection this old is replaced, make before break, before DingTalk expires it (seen after about 20 h). */
  refreshAfterMs: 12 * 3_600_000,
  /** How long connections/open and the upgrade may take. */
  openTimeoutMs: 10_000,
};
/** Tries to commit one frame before leaving it unacked for DingTalk to deliver again. */
const COMMIT_ATTEMPTS = 4;

interface LinkSocket {
  ws: WebSocket;
  openedAt: number;
  lastFrameAt: number;
  /** DingTalk sent `disconnect`, or a newer socket replaced it: no longer routed to, closing soon. */
  drainingSince: number | null;
}

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

  private readonly store: LinkStateStore;
  private state: LinkState;
  private sockets: LinkSocket[] = [];
  private connecting: Promise<void> | null = null;
  /** The last report to the inbox, so the next waits for it. */
  private reports: Promise<void> = Promise.resolve();
  /** The object restarted with a socket up or opening: the inbox still thinks it is, until told. */
  private lostInRestart: boolean;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new LinkStateStore(ctx.storage.sql);
    this.state = this.store.load();
    // No socket survives a restart, whatever was saved.
    this.lostInRestart = this.state.phase === "open" || this.state.phase === "connecting";
    if (this.lostInRestart) {
      this.state.phase = "backoff";
      this.state.connectedAt = null;
    }
  }

  /** Tells the inbox, once, that the connection it last heard of went with a restart of this object. */
  private reportRestart(): void {
    if (!this.lostInRestart) return;
    this.lostInRestart = false;
    void this.tellInbox({ type: "down", at: this.clock.now(), error: "the link restarted (a deploy or an eviction)" });
  }

  /** Starts the link if it is down and keeps its alarm armed; called on requests for the app and by cron. */
  async ensure(app: string): Promise<LinkStatus> {
    if (this.state.app === null) {
      this.state.app = app;
      this.save();
    }
    this.reportRestart();
    if (!this.enabled()) {
      await this.stop("the Stream link is off for this app");
      return this.status();
    }
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(this.clock.now() + this.timing.tickMs);
    if (!this.live().length) await this.dial("start");
    return this.status();
  }

  async status(): Promise<LinkStatus> {
    const s = this.state;
    return {
      state: s.phase,
      connectedAt: s.connectedAt,
      lastFrameAt: s.lastFrameAt,
      lastMessageAt: s.lastMessageAt,
      opens: pruneOpens(s.opens, this.clock.now()),
      lastError: s.lastError,
      sockets: this.sockets.length,
      retryAt: s.retryAt,
      counters: s.counters,
    };
  }

  /** Never throws: a failed alarm is retried a few times by the runtime, then never again. */
  override async alarm(): Promise<void> {
    let next: number | null = this.clock.now() + this.timing.tickMs;
    try {
      if (!this.enabled()) {
        await this.stop("the Stream link is off for this app");
        next = null;
      } else {
        next = await this.tick();
      }
    } catch (error) {
      log("error", "link_alarm_failed", { app: this.state.app, error: describe(error) });
    } finally {
      try {
        if (next === null) await this.ctx.storage.deleteAlarm();
        else await this.ctx.storage.setAlarm(next);
      } catch (error) {
        log("error", "link_alarm_not_armed", { app: this.state.app, error: describe(error) });
      }
    }
  }

  /** The periodic check; answers when it must run next. */
  private async tick(): Promise<number> {
    this.reportRestart();
    const now = this.clock.now();
    for (const sock of [...this.sockets]) {
      if (now - sock.lastFrameAt > this.timing.deadAfterMs)
        this.closeSocket(sock, 4000, `no frame from DingTalk for ${this.timing.deadAfterMs / 1000} s`);
      else if (sock.drainingSince !== null && now - sock.drainingSince > this.timing.drainGraceMs) this.closeSocket(sock, 1000, "replaced");
    }
    const live = this.live();
    const oldest = live[0];
    if (oldest && now - oldest.openedAt >= HEALTHY_RESET_MS && this.state.failures > 0) {
      this.state.failures = 0;
      this.state.retryAt = null;
    }
    if (!live.length) await this.dial("no connection");
    else if (oldest && now - oldest.openedAt >= this.timing.refreshAfterMs) await this.dial("refresh");
    this.save();
    const retryAt = this.state.retryAt;
    return Math.min(now + this.timing.tickMs, retryAt !== null && retryAt > now ? retryAt : Infinity);
  }

  // ---- connecting --------------------------------------------------------------------------

  /** One open at a time; `refresh` and `disconnect` open beside a live socket (make before break). */
  private dial(reason: "start" | "no connection" | "lost" | "refresh" | "disconnect"): Promise<void> {
    this.connecting ??= this.open(reason).finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async open(reason: string): Promise<void> {
    const now = this.clock.now();
    const beside = reason === "refresh" || reason === "disconnect";
    if (this.live().length && !beside) return;
    if (this.sockets.length >= 2) return; // never more than two
    const app = this.appConfig();
    if (!app) return;
    const s = this.state;
    s.opens = pruneOpens(s.opens, now);
    const plan = planOpen(s, now);
    if (plan.why !== "now") {
      if (!this.live().length && s.phase !== "refused") s.phase = "backoff";
      if (plan.why === "budget") {
        const news = s.retryAt !== plan.at;
        s.retryAt = plan.at;
        // Said once per wait, and only when no socket is up: a refresh that must wait beside a live
        // socket leaves the link connected.
        if (news && !this.live().length) {
          await this.tellInbox({ type: "halted", at: now, until: plan.at, opens: plan.window.max, windowMs: plan.window.windowMs });
        }
      }
      this.save();
      return;
    }
    // The attempt counts before the network is touched: a crash mid-open must not reset the budget.
    s.opens.push(now);
    if (!this.live().length) s.phase = "connecting";
    this.save();
    const { apiBase } = loadConfig(this.env);
    try {
      const res = await fetch(openRequest(apiBase, app.clientId, app.clientSecret), {
        signal: AbortSignal.timeout(this.timing.openTimeoutMs),
      });
      const outcome = await readOpenResponse(res);
      if (!outcome.ok) return outcome.refused ? await this.refused(outcome.error) : this.failed(outcome.error);
      const up = await upgrade(socketUrl(outcome.endpoint, outcome.ticket), this.timing.openTimeoutMs);
      if (typeof up === "string") return this.failed(up);
      up.accept();
      this.adopt(up, reason);
    } catch (error) {
      this.failed(`could not reach DingTalk: ${describe(error)}`);
    }
  }

  private adopt(ws: WebSocket, reason: string): void {
    const now = this.clock.now();
    const sock: LinkSocket = { ws, openedAt: now, lastFrameAt: now, drainingSince: null };
    // A refresh replaces what was live; a disconnect already marked its socket.
    if (reason === "refresh") for (const old of this.live()) old.drainingSince = now;
    this.sockets.push(sock);
    ws.addEventListener("message", (e) => void this.onMessage(sock, e.data));
    ws.addEventListener("close", (e) => this.onGone(sock, `closed by DingTalk (${e.code}${e.reason ? ` ${e.reason}` : ""})`));
    ws.addEventListener("error", () => this.onGone(sock, "socket error"));
    const s = this.state;
    s.phase = "open";
    s.connectedAt = now;
    s.lastError = null;
    if (s.retryAt !== null && s.retryAt <= now) s.retryAt = null;
    this.save();
    log("info", "link_open", { app: s.app, reason, sockets: this.sockets.length });
    void this.tellInbox({ type: "opened", at: now });
  }

  private failed(error: string): void {
    const now = this.clock.now();
    const s = this.state;
    s.failures += 1;
    s.retryAt = now + backoffMs(s.failures, this.random);
    s.lastError = error.slice(0, 300);
    if (!this.live().length) s.phase = "backoff";
    this.save();
    log("warn", "link_open_failed", { app: s.app, error: s.lastError, failures: s.failures, retryAt: s.retryAt });
  }

  private async refused(error: string): Promise<void> {
    const now = this.clock.now();
    const s = this.state;
    s.retryAt = now + REFUSED_RETRY_MS;
    s.lastError = error;
    if (!this.live().length) s.phase = "refused";
    this.save();
    log("error", "link_refused", { app: s.app, error });
    await this.tellInbox({ type: "refused", at: now, error, retryAt: s.retryAt });
  }

  // ---- frames ------------------------------------------------------------------------------

  private async onMessage(sock: LinkSocket, data: unknown): Promise<void> {
    const now = this.clock.now();
    sock.lastFrameAt = now;
    this.state.lastFrameAt = now;
    this.state.counters.frames += 1;
    const text = typeof data === "string" ? data : new TextDecoder().decode(data as ArrayBuffer);
    const frame = parseFrame(text);
    if (!frame) {
      // Nothing to ack it by, but nothing DingTalk sent is dropped unseen: it is kept, as a dead letter.
      log("warn", "link_unreadable_frame", { app: this.state.app, bytes: text.length });
      await this.commit(unreadableFrame(text), "other");
      return;
    }
    const kind = frameKind(frame);
    if (kind === "disconnect") return this.onDisconnect(sock, frame);
    if (kind !== "ping") {
      // Commit first; without the commit there is no ack, and DingTalk delivers again.
      if (!(await this.commit(frame, kind))) return;
    }
    const ack = ackFor(frame, kind);
    if (ack) send(sock.ws, ack);
  }

  /**
   * Commits a frame to the inbox, trying a few times: DingTalk's redelivery of an unacked robot
   * message is not guaranteed, so a moment's failure of the inbox (a deploy restarting it) must not
   * rest on it. The inbox dedups, so a retry of a commit that did happen stores nothing twice. The
   * counters stay in memory until the next tick: the ack waits for no write of the link's own.
   */
  private async commit(frame: StreamFrame, kind: ReturnType<typeof frameKind>): Promise<boolean> {
    const app = this.state.app;
    if (!app) return false;
    const request = await ingestRequestFor(app, frame, kind);
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.env.INBOX.getByName(app).ingest(request);
        const c = this.state.counters;
        if (request.deadReason) {
          c.deadLetters += 1;
          log("warn", "link_dead_letter", { app, reason: request.deadReason, outcome: result.outcome });
        } else {
          c.messages += 1;
          this.state.lastMessageAt = this.clock.now();
        }
        return true;
      } catch (error) {
        log("error", "link_commit_failed", { app, messageId: frame.messageId, attempt, error: describe(error) });
        if (attempt >= COMMIT_ATTEMPTS) return false;
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }

  /** DingTalk stops routing to this socket now and closes it soon: open the next one first. */
  private async onDisconnect(sock: LinkSocket, frame: StreamFrame): Promise<void> {
    sock.drainingSince = this.clock.now();
    this.state.counters.disconnects += 1;
    log("info", "link_disconnect_frame", { app: this.state.app, data: frame.data.slice(0, 200) });
    await this.dial("disconnect");
  }

  /** A socket closed or failed: forget it; with none left, reconnect within the budget. */
  private onGone(sock: LinkSocket, why: string): void {
    if (!this.sockets.includes(sock)) return;
    this.sockets = this.sockets.filter((s) => s !== sock);
    const unexpected = sock.drainingSince === null;
    log(unexpected ? "warn" : "info", "link_close", { app: this.state.app, why, sockets: this.sockets.length });
    if (this.live().length) return;
    const now = this.clock.now();
    const s = this.state;
    if (unexpected) {
      s.failures += 1;
      s.retryAt = now + backoffMs(s.failures, this.random);
      s.lastError = why;
    }
    s.phase = "backoff";
    s.connectedAt = null;
    this.save();
    void this.tellInbox({ type: "down", at: now, error: unexpected ? why : null });
    void this.reconnectSoon();
  }

  /** Reconnects now if the plan allows, else leaves it to the alarm, armed for the plan's moment. */
  private async reconnectSoon(): Promise<void> {
    await this.dial("lost");
    const retryAt = this.state.retryAt;
    if (!this.live().length && retryAt !== null) {
      const alarm = await this.ctx.storage.getAlarm();
      if (alarm === null || alarm > retryAt) await this.ctx.storage.setAlarm(retryAt);
    }
  }

  private closeSocket(sock: LinkSocket, code: number, why: string): void {
    try {
      sock.ws.close(code, why);
    } catch {
      // already closed
    }
    this.onGone(sock, why);
  }

  private async stop(why: string): Promise<void> {
    for (const sock of [...this.sockets]) {
      sock.drainingSince ??= this.clock.now();
      try {
        sock.ws.close(1000, why);
      } catch {
        // already closed
      }
    }
    this.sockets = [];
    if (this.state.phase !== "off") {
      this.state.phase = "off";
      this.state.connectedAt = null;
      this.save();
      await this.tellInbox({ type: "down", at: this.clock.now(), error: why });
    }
  }

  // ---- plumbing ----------------------------------------------------------------------------

  private live(): LinkSocket[] {
    return this.sockets.filter((s) => s.drainingSince === null);
  }

  private appConfig() {
    try {
      return this.state.app === null ? undefined : loadConfig(this.env).apps.get(this.state.app);
    } catch {
      return undefined;
    }
  }

  private enabled(): boolean {
    return this.appConfig()?.streamLink === true;
  }

  /**
   * The inbox records what the link saw: first-hand evidence for the mode machine, and incidents.
   * Reports go one after another, so "opened" and "down" never arrive the wrong way round.
   */
  private tellInbox(event: LinkEvent): Promise<void> {
    this.reports = this.reports.then(async () => {
      const app = this.state.app;
      if (!app) return;
      try {
        await this.env.INBOX.getByName(app).linkEvent(app, event);
      } catch (error) {
        log("warn", "link_report_failed", { app, event: event.type, error: describe(error) });
      }
    });
    return this.reports;
  }

  private save(): void {
    this.store.save(this.state);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
