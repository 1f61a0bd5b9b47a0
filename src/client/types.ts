// The consumer API's shapes, as the bridge's contract defines them.

export type Mode = "unknown" | "webhook" | "stream";

export interface BridgeEvent<P = Record<string, unknown>> {
  id: string;
  seq: number;
  kind: "robot" | "event";
  dedupKey: string;
  receivedAt: number;
  attempt: number;
  leaseId: string;
  leaseExpiresAt: number;
  /** The JSON object DingTalk sent, every key kept (for events, the decrypted JSON). */
  payload: P;
}

export interface StoredEvent<P = Record<string, unknown>> extends Omit<BridgeEvent<P>, "leaseId" | "leaseExpiresAt"> {
  state: "ready" | "leased" | "acked" | "dead" | "suppressed";
  lastReason: string | null;
  doneAt: number | null;
}

export interface PullOptions {
  max?: number;
  waitMs?: number;
  leaseMs?: number;
  release?: boolean;
  signal?: AbortSignal;
}

export interface PullResponse {
  events: BridgeEvent[];
  mode: Mode;
  pollHintMs: number;
  released: number;
  /** The lease length that applied to these events. */
  leaseMs: number;
}

export interface StreamReport {
  connected: boolean;
  lastMessageAt?: number;
  reconnects?: number[];
  msgIds?: string[];
}

export interface HeartbeatResponse {
  mode: Mode;
  pollHintMs: number;
  suppressed: number;
}

export interface Page<E> {
  events: E[];
  nextAfterSeq: number;
}
