// The consumer API's shapes, as the bridge's contract defines them.

export type Mode = "unknown" | "webhook" | "stream";

export interface BridgeEvent<P = Record<string, unknown>> {
  id: string;
  seq: number;
  kind: "robot" | "event";
  /** The path that brought its first copy: an HTTP callback, or the bridge's own Stream link. */
  source: "webhook" | "stream";
  dedupKey: string;
  receivedAt: number;
  attempt: number;
  leaseId: string;
  leaseExpiresAt: number;
  /**
   * The ordering key: the conversation (or conversation and sender), or null for an event with no
   * ordering constraint. Events of one key are handed out in order, to one consumer at a time.
   */
  orderingKey: string | null;
  /** For a replayed delivery, the id of the event it replays. */
  replayOf?: string | null;
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
  /**
   * The lease ids this consumer still holds; the bridge returns every other lease of this consumer
   * to the queue at once (attempt not counted), so an answer that never arrived costs nothing.
   */
  held?: string[];
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

/** The status document as the bridge sends it: free-form JSON, read field by field. */
// biome-ignore lint/suspicious/noExplicitAny: the document grows with the bridge; callers read what they know
export type StatusDocument = Record<string, any>;

export interface Page<E> {
  events: E[];
  nextAfterSeq: number;
}

/** History filters; each narrows the page to matching events. */
export interface HistoryQuery {
  conversationId?: string;
  msgId?: string;
  /** The sender's staffId or senderId. */
  sender?: string;
  /** Oldest first (default) or newest first. */
  order?: "asc" | "desc";
}

/** Delivered events to hand out again as new deliveries: by id, or a seq range (of one conversation). */
export type ReplayRequest = { ids: string[] } | { fromSeq: number; toSeq: number; conversationId?: string };

export interface ReplayResult {
  replayed: number;
  [key: string]: unknown;
}

export type OutMessage =
  | { msgtype: "text"; text: { content: string } }
  | { msgtype: "markdown"; markdown: { title: string; text: string } };

export interface SendRequest {
  replyTo?: string;
  to?: { openConversationId: string } | { userIds: string[] };
  message: OutMessage;
  /** Up to 128 printable characters; the same key sends once within retention. */
  key?: string;
}

export type SendResult =
  | { state: "sent"; via: "sessionWebhook" | "robotApi"; key: string }
  | { state: "queued"; key: string; retryAt: number };

/** queued (waiting for a retry), or final: sent, refused by DingTalk, failed after 24 hours, cancelled by an operator. */
export type SendState = "queued" | "sent" | "refused" | "failed" | "cancelled";

export interface SendFate {
  key: string;
  state: SendState;
  via: "sessionWebhook" | "robotApi" | null;
  attempts: number;
  lastError: string | null;
  dingtalkCode: string | null;
  dingtalkMessage: string | null;
  createdAt: number;
  sentAt: number | null;
  retryAt: number | null;
}

/** One check the bridge ran against DingTalk or the alert sink: passed, or what went wrong. */
export interface DiagnoseCheck {
  ok: boolean;
  detail: string;
}

/** `POST diagnose`: the bridge asks DingTalk for an access token, tries the robot API, and tests the alert sink when asked. */
export interface Diagnosis {
  accessToken: DiagnoseCheck;
  robotPermission: DiagnoseCheck;
  alertSink: DiagnoseCheck | null;
}
