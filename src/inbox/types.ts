// What the Worker's routes and the inbox object say to each other over RPC.
import type { EventKind, StoredEventRow } from "./event-store";
import type { StreamReport } from "./mode-machine";

export interface IngestRequest {
  app: string;
  kind: EventKind;
  dedupKey: string;
  payload: string;
  conversationId: string | null;
  /** Robot messages only: the msgId, also checked against Stream deliveries. */
  msgId: string | null;
}

export interface IngestResult {
  stored: boolean;
  /** Text to send back to the sender inline, when consumers are detached and a reply is configured. */
  offlineReply: string | null;
}

export interface PullRequest {
  app: string;
  max: number;
  waitMs: number;
  leaseMs?: number | undefined;
  consumer?: string | undefined;
  release: boolean;
}

export interface PullResult {
  events: StoredEventRow[];
  released: number;
  /** The lease length that applied: the pull's own, or the bridge's LEASE_MS. */
  leaseMs: number;
  mode: string;
  pollHintMs: number;
}

export interface HeartbeatRequest {
  app: string;
  consumer: string;
  stream: (StreamReport & { msgIds?: string[] | undefined }) | undefined;
}
