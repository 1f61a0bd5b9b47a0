// What the Worker's routes and the app's Stream link say to the inbox object over RPC. The object is
// addressed by the app's name, so no request carries it.
import type { EventKind, EventSource } from "./event-row";
import type { DeadSource, InsertOutcome } from "./event-store";
import type { StreamReport } from "./mode-machine";

export interface IngestRequest {
  kind: EventKind;
  source: EventSource;
  dedupKey: string;
  payload: string;
  conversationId: string | null;
  /** Robot messages only: who sent it (senderStaffId, else senderId), for ordering by sender. */
  sender?: string | null | undefined;
  /** Robot messages only: the msgId, also checked against Stream deliveries. */
  msgId: string | null;
  /** Robot callbacks over HTTP: the signed timestamp, claimed for this msgId alone. */
  signTimestamp?: string | undefined;
  /** Kept straight as a dead letter with this reason: DingTalk sent something that is not valid. */
  deadReason?: string | undefined;
  /** Where that dead letter comes from, for its source's cap. */
  deadSource?: DeadSource | undefined;
  /** The robot URL for runbooks in alerts. */
  robotUrl?: string | undefined;
}

export interface IngestResult {
  stored: boolean;
  outcome: InsertOutcome;
  /** Text to send back to the sender inline, when consumers are detached and a reply is configured. */
  offlineReply: string | null;
  /** Set when the request is refused: its signature already carried another message. */
  refused: "sign_reused" | null;
}

export interface PullRequest {
  /** 0 only with `release`: hand back this consumer's leases and end its polls, lease nothing. */
  max: number;
  waitMs: number;
  leaseMs?: number | undefined;
  consumer?: string | undefined;
  release: boolean;
  /** Every lease the consumer still holds; its other leases go back to the queue, attempt not counted. */
  held?: string[] | undefined;
  /** The Worker's id for this request, so the request's end can cancel the poll. */
  pollId?: string | undefined;
  robotUrl?: string | undefined;
}

export interface PullResult {
  /** Each leased event's JSON text as consumers receive it (src/inbox/leased-json.ts). */
  events: string[];
  released: number;
  /** The lease length that applied: the pull's own, or the bridge's LEASE_MS. */
  leaseMs: number;
  mode: string;
  pollHintMs: number;
}

export interface HeartbeatRequest {
  consumer: string;
  stream: (StreamReport & { msgIds?: string[] | undefined }) | undefined;
}

/** What the app's Stream link reports to its inbox: first-hand evidence, and its own incidents. */
export type LinkEvent =
  | { type: "opened"; at: number }
  | { type: "down"; at: number; error: string | null }
  | { type: "halted"; at: number; until: number; opens: number; windowMs: number }
  /** DingTalk refused the app: its credentials, or this server's egress IP (an allowlist). */
  | { type: "refused"; at: number; why: "credentials" | "ip_not_allowed"; error: string; retryAt: number };
