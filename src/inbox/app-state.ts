// The inbox's own state, one JSON row in `app_state`, and its transition log.
import type { OpenIncidents } from "../alerts/incidents";
import { initialModeState, type ModeState, type Transition } from "./mode-machine";

export interface Counters {
  /** Robot messages that came by HTTP callback. */
  callbacksAccepted: number;
  /** Robot messages that came over the bridge's own Stream link. */
  linkMessagesAccepted: number;
  eventsAccepted: number;
  duplicates: number;
  leased: number;
  acked: number;
  nacked: number;
  deadLettered: number;
  expired: number;
  streamSuppressed: number;
  /** Signed callbacks kept aside as dead letters: their signature had carried another message. */
  signReused: number;
  /** Signed callbacks refused: their signature had carried too many messages already. */
  signReuseRefused: number;
  /** Dead letters deleted because their source was past its cap. */
  deadLettersDropped: number;
  /** Callbacks refused at the door (bad signature, stale timestamp, malformed body...), by code. */
  rejected: Record<string, number>;
}

export interface AppState {
  app: string | null;
  machine: ModeState;
  counters: Counters;
  lastPullAt: number | null;
  /** Incidents outside the mode machine, with when each opened. */
  incidents: OpenIncidents;
  /** The robot URL to paste into DingTalk's console: PUBLIC_URL, or the origin requests came to. */
  robotUrl: string | null;
  /** The Stream link's state as it last reported it, for its transitions. */
  link: string;
  /** When recent callbacks were refused at the door, ascending, for the callbacks_rejected incident. */
  rejections: number[];
}

const zeroCounters: Counters = {
  callbacksAccepted: 0,
  linkMessagesAccepted: 0,
  eventsAccepted: 0,
  duplicates: 0,
  leased: 0,
  acked: 0,
  nacked: 0,
  deadLettered: 0,
  expired: 0,
  streamSuppressed: 0,
  signReused: 0,
  signReuseRefused: 0,
  deadLettersDropped: 0,
  rejected: {},
};

export class AppStateStore {
  constructor(private readonly sql: SqlStorage) {}

  load(): AppState {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM app_state WHERE key = 'state'").toArray()[0];
    const saved = row ? (JSON.parse(row.value) as Partial<AppState>) : {};
    // Spreading over the defaults lets a newer build read state an older one wrote.
    return {
      app: saved.app ?? null,
      machine: { ...initialModeState, ...saved.machine },
      counters: { ...zeroCounters, ...saved.counters, rejected: { ...saved.counters?.rejected } },
      lastPullAt: saved.lastPullAt ?? null,
      incidents: { ...saved.incidents },
      robotUrl: saved.robotUrl ?? null,
      link: saved.link ?? "off",
      rejections: saved.rejections ?? [],
    };
  }

  save(state: AppState): void {
    this.sql.exec(
      "INSERT INTO app_state (key, value) VALUES ('state', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      JSON.stringify(state),
    );
  }

  record(transitions: readonly Transition[]): void {
    for (const t of transitions) {
      this.sql.exec(
        "INSERT INTO transitions (at, subject, from_state, to_state, reason) VALUES (?, ?, ?, ?, ?)",
        t.at,
        t.subject,
        t.from,
        t.to,
        t.reason,
      );
    }
  }

  recentTransitions(limit: number): Transition[] {
    return this.sql
      .exec<{ at: number; subject: Transition["subject"]; from_state: string; to_state: string; reason: string }>(
        "SELECT at, subject, from_state, to_state, reason FROM transitions ORDER BY id DESC LIMIT ?",
        limit,
      )
      .toArray()
      .map((r) => ({ at: r.at, subject: r.subject, from: r.from_state, to: r.to_state, reason: r.reason }));
  }

  sweep(cutoff: number): void {
    this.sql.exec("DELETE FROM transitions WHERE at < ?", cutoff);
  }
}
