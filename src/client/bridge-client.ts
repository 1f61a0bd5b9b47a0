// A typed client for the bridge's consumer API; runs wherever fetch does (Node 20, Workers, Deno).
import { BridgeError, BridgeNetworkError, errorForStatus } from "./errors.js";
import { notePayloadTexts } from "./payload-text.js";
import { replyKey } from "./reply-key.js";
import { abortable, linkedSignal } from "./timing.js";
import type {
  BridgeEvent,
  Diagnosis,
  HeartbeatResponse,
  HistoryQuery,
  OutMessage,
  Page,
  PullOptions,
  PullResponse,
  ReplayRequest,
  ReplayResult,
  SendFate,
  SendRequest,
  SendResult,
  SendState,
  StatusDocument,
  StoredEvent,
  StreamReport,
} from "./types.js";

export interface BridgeClientOptions {
  url: string;
  token: string;
  app?: string;
  /**
   * A stable id per gateway instance: a restart with the same id takes its old leases back at once.
   * By default the machine's host name (in Node), so two machines never share one.
   */
  consumer?: string;
  fetch?: typeof fetch;
  /** Per-request timeout on top of any long-poll wait. */
  timeoutMs?: number;
}

/** Longer than the bridge's worst case for one send: five calls to DingTalk of up to 10 s each. */
const SEND_TIMEOUT_MS = 75_000;
/** diagnose: up to four calls to DingTalk (10 s each at most) and one to the alert sink (5 s). */
const DIAGNOSE_TIMEOUT_MS = 50_000;

export class BridgeClient {
  readonly app: string;
  readonly consumer: string;
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly options: BridgeClientOptions) {
    this.app = options.app ?? "default";
    this.consumer = options.consumer ?? defaultConsumerId();
    this.base = `${options.url.replace(/\/+$/, "")}/v1/${encodeURIComponent(this.app)}`;
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  pull(options: PullOptions = {}): Promise<PullResponse> {
    const { signal, ...body } = options;
    return this.call("POST", "pull", { ...body, consumer: this.consumer }, (body.waitMs ?? 0) + this.timeoutMs, signal);
  }

  ack(leaseIds: string[]): Promise<{ acked: string[]; stale: string[] }> {
    return this.call("POST", "ack", { leaseIds });
  }

  nack(leaseIds: string[], delayMs = 0, reason?: string): Promise<{ requeued: string[]; deadLettered: string[]; stale: string[] }> {
    return this.call("POST", "nack", { leaseIds, delayMs, ...(reason ? { reason: reason.slice(0, 500) } : {}) });
  }

  extend(leaseIds: string[], leaseMs: number): Promise<{ extended: string[]; leaseExpiresAt: number; stale: string[] }> {
    return this.call("POST", "extend", { leaseIds, leaseMs });
  }

  heartbeat(stream?: StreamReport): Promise<HeartbeatResponse> {
    return this.call("POST", "heartbeat", { consumer: this.consumer, ...(stream ? { stream } : {}) });
  }

  status(): Promise<StatusDocument> {
    return this.call("GET", "status");
  }

  /** Stored events within retention, read-only; `query` narrows them to a conversation, a message or a sender. */
  history(afterSeq = 0, limit = 100, query: HistoryQuery = {}): Promise<Page<StoredEvent>> {
    const params = new URLSearchParams({ afterSeq: String(afterSeq), limit: String(limit) });
    for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, value);
    return this.call("GET", `events?${params}`);
  }

  deadLetters(afterSeq = 0, limit = 100): Promise<Page<StoredEvent>> {
    return this.call("GET", `dead-letters?afterSeq=${afterSeq}&limit=${limit}`);
  }

  /**
   * Hands delivered events out again as new deliveries (same payload, a fresh attempt count): the
   * named ones, or a seq range, optionally of one conversation.
   */
  replay(request: ReplayRequest): Promise<ReplayResult> {
    return this.call("POST", "events/replay", request);
  }

  redrive(ids?: string[]): Promise<{ redriven: number }> {
    return this.call("POST", "dead-letters/redrive", ids ? { ids } : {});
  }

  /** Deletes dead letters for good: the named ones, or all of them when none are named. */
  purge(ids?: string[]): Promise<{ purged: number }> {
    return this.call("POST", "dead-letters/purge", ids ? { ids } : { all: true });
  }

  /**
   * Sends as the robot: a reply (`replyTo`) or a proactive message (`to`). Resolves when DingTalk took
   * it (`state: "sent"`) or when the bridge keeps it for retries (`state: "queued"`); a message
   * DingTalk refuses throws BridgeSendRefusedError. The same `key` never sends twice.
   */
  send(request: SendRequest): Promise<SendResult> {
    // The bridge may try DingTalk a few ways before it answers (webhook, token, robot API, a refetch).
    return this.call("POST", "send", request, SEND_TIMEOUT_MS);
  }

  /**
   * Replies to an event. The default key comes from the event and the message, so a gateway that
   * retries after a crash does not post the same reply twice.
   */
  async reply(event: Pick<BridgeEvent, "id">, message: OutMessage, key?: string): Promise<SendResult> {
    return this.send({ replyTo: event.id, message, key: key ?? (await replyKey(event.id, message)) });
  }

  /** What became of a send: queued, sent, refused or failed. */
  sendFate(key: string): Promise<SendFate> {
    return this.call("GET", `send/${encodeURIComponent(key)}`);
  }

  /**
   * Has the bridge check this app against DingTalk (an access token, a dry call to the robot API)
   * and, with `sink`, send the alert sink a test alert. Needs the `admin` scope.
   */
  diagnose(options: { sink?: boolean } = {}): Promise<Diagnosis> {
    // Up to four calls to DingTalk of 10 s at most each, and one to the sink of 5 s.
    return this.call("POST", "diagnose", { sink: options.sink ?? false }, DIAGNOSE_TIMEOUT_MS);
  }

  /** The outbox, newest first: every send within retention, or those in one `state`. */
  outbox(state?: SendState, limit = 100): Promise<{ sends: SendFate[] }> {
    const params = new URLSearchParams({ limit: String(limit) });
    if (state) params.set("state", state);
    return this.call("GET", `outbox?${params}`);
  }

  /** Cancels sends still waiting for a retry; a cancelled key never sends, and reusing it answers 409. */
  cancelSends(keys: string[]): Promise<{ cancelled: string[]; notQueued: string[] }> {
    return this.call("POST", "outbox/cancel", { keys });
  }

  /**
   * Hands back everything leased to this consumer and ends its waiting polls, leasing nothing: what a
   * stopping gateway sends, so no event waits out its lease for a consumer that is gone.
   */
  releaseAll(): Promise<PullResponse> {
    return this.call("POST", "pull", { consumer: this.consumer, max: 0, release: true });
  }

  /** An answer carrying `events` notes where each payload's text is, so `payloadText` can find it. */
  private async call<T>(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    timeoutMs = this.timeoutMs,
    signal?: AbortSignal,
  ): Promise<T> {
    const { value, text } = await this.request<T>(method, path, body, timeoutMs, signal);
    const events = (value as { events?: unknown } | null)?.events;
    if (Array.isArray(events)) notePayloadTexts(events, text);
    return value;
  }

  private async request<T>(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ value: T; text: string }> {
    const timeout = linkedSignal([], timeoutMs);
    const linked = linkedSignal([signal, timeout.signal]);
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(`${this.base}/${path}`, {
        method,
        headers: { authorization: `Bearer ${this.options.token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: linked.signal,
      });
      // Once the answer has begun, the caller's signal no longer cuts it off: it may carry leased events.
      linked.release();
      text = await abortable(response.text(), timeout.signal);
    } catch (error) {
      if (signal?.aborted && !timeout.signal.aborted) throw error;
      const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new BridgeNetworkError(`no answer from the bridge (${why})`, null, "network");
    } finally {
      linked.release();
      timeout.release();
    }
    if (!response.ok) {
      let detail: Record<string, unknown> = {};
      try {
        detail = (JSON.parse(text) as { error?: Record<string, unknown> }).error ?? {};
      } catch {
        // not our error shape: keep the start of the text
      }
      const code = typeof detail.code === "string" ? detail.code : "http_error";
      const message = typeof detail.message === "string" ? detail.message : text.slice(0, 300);
      throw errorForStatus(response.status, code, message, detail);
    }
    try {
      return { value: JSON.parse(text) as T, text };
    } catch {
      throw new BridgeError(`the bridge answered ${response.status} with a body that is not JSON`, response.status, "bad_response");
    }
  }
}

/** `<prefix>-<host>` where the host name can be had (Node), else a random id for this process. */
export function defaultConsumerId(prefix = "gateway"): string {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const os = proc?.getBuiltinModule?.("node:os") as { hostname?: () => string } | undefined;
  const host = os?.hostname?.() || `process-${crypto.randomUUID().slice(0, 8)}`;
  return `${prefix}-${host.replace(/[^A-Za-z0-9._:@-]/g, "-").slice(0, 100)}`;
}
