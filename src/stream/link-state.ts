// What the link remembers across its own restarts (every deploy and runtime update restarts it):
// one JSON row in its SQLite. The reconnect budget lives here, so a restart cannot reset it.

export type LinkPhase = "off" | "connecting" | "open" | "backoff" | "refused";

export interface LinkState {
  app: string | null;
  phase: LinkPhase;
  /** When the connection now carrying messages opened. */
  connectedAt: number | null;
  lastFrameAt: number | null;
  lastMessageAt: number | null;
  /** Recent open attempts, ascending, for the budget. */
  opens: number[];
  /** Failed opens and lost connections since the last healthy stretch. */
  failures: number;
  /** No open before this (backoff, budget or refused credentials). */
  retryAt: number | null;
  lastError: string | null;
  counters: { frames: number; messages: number; deadLetters: number; disconnects: number };
}

export const initialLinkState: LinkState = {
  app: null,
  phase: "off",
  connectedAt: null,
  lastFrameAt: null,
  lastMessageAt: null,
  opens: [],
  failures: 0,
  retryAt: null,
  lastError: null,
  counters: { frames: 0, messages: 0, deadLetters: 0, disconnects: 0 },
};

export class LinkStateStore {
  constructor(private readonly sql: SqlStorage) {}

  load(): LinkState {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM link_state WHERE key = 'state'").toArray()[0];
    const saved = row ? (JSON.parse(row.value) as Partial<LinkState>) : {};
    return { ...initialLinkState, ...saved, counters: { ...initialLinkState.counters, ...saved.counters } };
  }

  save(state: LinkState): void {
    this.sql.exec(
      "INSERT INTO link_state (key, value) VALUES ('state', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      JSON.stringify(state),
    );
  }
}
