// What the link's parts share: its saved state, its sockets, its timings, and the one line to the
// app's inbox. The Durable Object (link.ts) makes one; dialing and the sockets' events work on it.
import type { AppConfig } from "../config/apps";
import { loadConfig } from "../config/load";
import type { LinkEvent } from "../inbox/types";
import type { AlarmSchedule } from "../lib/alarm-schedule";
import type { Clock } from "../lib/clock";
import { log } from "../lib/log";
import type { LinkState, LinkStateStore } from "./link-state";

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

export interface LinkSocket {
  ws: WebSocket;
  openedAt: number;
  lastFrameAt: number;
  /** DingTalk sent `disconnect`, or a newer socket replaced it: no longer routed to, closing soon. */
  drainingSince: number | null;
}

/** Why the link opens a connection; `refresh` and `disconnect` open beside a live socket (make before break). */
export type DialReason = "start" | "no connection" | "lost" | "refresh" | "disconnect";

export class LinkCore {
  sockets: LinkSocket[] = [];
  /** The open in progress: one at a time. */
  connecting: Promise<void> | null = null;
  /** The last report to the inbox, so the next waits for it. */
  private reports: Promise<void> = Promise.resolve();

  constructor(
    readonly env: Env,
    readonly state: LinkState,
    private readonly store: LinkStateStore,
    readonly timing: typeof LINK_TIMING,
    private readonly time: () => Clock,
    readonly random: () => number,
    readonly schedule: AlarmSchedule,
    /** Opens a connection within the budget (dial.ts); set by the link so the sockets can ask for one. */
    readonly dial: (reason: DialReason) => Promise<void>,
  ) {}

  now(): number {
    return this.time().now();
  }

  live(): LinkSocket[] {
    return this.sockets.filter((s) => s.drainingSince === null);
  }

  save(): void {
    this.store.save(this.state);
  }

  appConfig(): AppConfig | undefined {
    try {
      return this.state.app === null ? undefined : loadConfig(this.env).apps.get(this.state.app);
    } catch {
      return undefined;
    }
  }

  /**
   * The inbox records what the link saw: first-hand evidence for the mode machine, and incidents.
   * Reports go one after another, so "opened" and "down" never arrive the wrong way round.
   */
  tellInbox(event: LinkEvent): Promise<void> {
    this.reports = this.reports.then(async () => {
      const app = this.state.app;
      if (!app) return;
      try {
        await this.env.INBOX.getByName(app).linkEvent(event);
      } catch (error) {
        log("warn", "link_report_failed", { app, event: event.type, error: describe(error) });
      }
    });
    return this.reports;
  }
}

export function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
