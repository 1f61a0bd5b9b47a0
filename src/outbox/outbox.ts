// Sending through the bridge: each send is claimed under its idempotency key, tried at once, and, if
// DingTalk cannot be reached, kept and retried from the alarm (5 s doubling to 10 min, for 24 h).
// DingTalk refusing a message is final and reported with DingTalk's own code.
import type { AppConfig } from "../config/apps";
import {
  accessTokenRequest,
  type FinalOutcome,
  judgeRobotApi,
  judgeSessionWebhook,
  type OutMessage,
  readAccessToken,
  robotApiRequest,
  sessionWebhookRequest,
} from "../dingtalk/robot-send";
import type { AlertEffect } from "../inbox/mode-machine";
import { retryBackoffMs } from "../lib/backoff";
import type { Clock } from "../lib/clock";
import { isRecord, parseJsonOrNull } from "../lib/json";
import { log } from "../lib/log";
import { AccessTokenCache } from "./access-token";
import { directRoute, replyRoutes, type SendRoute } from "./routes";
import { type SendRequest, type SendRow, SendStore } from "./send-store";

const CALL_TIMEOUT_MS = 10_000;
/** A send left `sending` by a crash is due again after this. */
const STALE_MS = 60_000;
export const GIVE_UP_AFTER_MS = 24 * 3_600_000;
/** One alarm spends at most this long on retries; what is left waits for the next. */
const RETRY_BUDGET_MS = 20_000;

export interface OutboxDeps {
  clock: Clock;
  app(): AppConfig | undefined;
  apiBase(): string;
  /** A stored event's kind and payload text, by its id. */
  findEvent(id: string): { kind: string; payload: string } | null;
  raise(alerts: AlertEffect[]): void;
}

/** What the send route answers: its status and body. */
export type SendAnswer = { status: 200 | 202 | 400 | 404 | 502; body: Record<string, unknown> };

/** How one attempt ended. */
type Attempt = (FinalOutcome & { via?: string }) | { kind: "impossible"; reason: string };

export class Outbox {
  private readonly store: SendStore;
  private readonly tokens: AccessTokenCache;

  constructor(
    sql: SqlStorage,
    private readonly deps: OutboxDeps,
  ) {
    this.store = new SendStore(sql);
    this.tokens = new AccessTokenCache(sql);
  }

  async send(key: string, request: SendRequest): Promise<SendAnswer> {
    const now = this.deps.clock.now();
    const existing = this.store.get(key);
    if (existing) return answerFor(existing);
    // A send that can never work is refused before its key is taken, so it can be fixed and sent again.
    const routes = this.routesFor(request);
    if ("error" in routes) return refusal(routes.error);
    const row = this.store.claim(key, request, now, now + STALE_MS);
    if (!row) return answerFor(this.store.get(key)!);
    return answerFor(await this.run(row, routes.routes));
  }

  fate(key: string) {
    const row = this.store.get(key);
    return row ? fateOf(row) : null;
  }

  /** Retries what is due, within a time budget; called from the alarm. */
  async retryDue(): Promise<void> {
    const started = Date.now();
    for (;;) {
      const now = this.deps.clock.now();
      const [row] = this.store.takeDue(now, now + STALE_MS, 1);
      if (!row) return;
      await this.run(row);
      if (Date.now() - started > RETRY_BUDGET_MS) return;
    }
  }

  nextDue(): number | null {
    return this.store.nextDue();
  }

  pending() {
    return this.store.pending();
  }

  recent(limit: number) {
    return this.store.recent(limit).map(fateOf);
  }

  sweep(cutoff: number): void {
    this.store.sweep(cutoff);
  }

  /** One attempt, and what it leaves in the table; `routes` when the caller has just worked them out. */
  private async run(row: SendRow, routes?: SendRoute[]): Promise<SendRow> {
    const result = await this.attempt(row.request, routes);
    const now = this.deps.clock.now();
    const attempts = row.attempts + 1;
    const app = this.deps.app()?.name ?? null;
    if (result.kind === "sent") {
      this.store.finish(row.key, "sent", { via: result.via, at: now, attempts });
    } else if (result.kind === "refused" || result.kind === "impossible") {
      const code = result.kind === "refused" ? result.code : null;
      const message = result.kind === "refused" ? result.message : result.reason;
      this.store.finish(row.key, "refused", {
        via: result.kind === "impossible" ? null : result.via,
        error: message,
        code,
        message,
        at: now,
        attempts,
      });
      log("warn", "send_refused", { app, key: row.key, code, message });
    } else if (now - row.createdAt >= GIVE_UP_AFTER_MS) {
      this.store.finish(row.key, "failed", { error: result.reason, at: now, attempts });
      log("error", "send_failed", { app, key: row.key, attempts, error: result.reason });
      this.deps.raise([
        {
          at: now,
          incident: "send_failed",
          phase: "open",
          title: "A message could not be sent to DingTalk",
          text: `The send with key "${row.key}" (${describeTarget(row.request)}) was tried ${attempts} times over 24 hours and given up: ${result.reason}.`,
        },
      ]);
    } else {
      this.store.requeue(row.key, now + retryBackoffMs(attempts), attempts, result.reason);
      log("warn", "send_queued", { app, key: row.key, attempts, reason: result.reason });
    }
    return this.store.get(row.key)!;
  }

  private routesFor(request: SendRequest): { routes: SendRoute[] } | { error: Refusal } {
    const app = this.deps.app()!;
    if (request.to) return { routes: [directRoute(request.to, app.clientId)] };
    const event = this.deps.findEvent(request.replyTo!);
    if (!event)
      return {
        error: { status: 404, code: "unknown_event", message: `replyTo: no stored event "${request.replyTo}" (it may be past retention)` },
      };
    if (event.kind !== "robot")
      return { error: { status: 400, code: "not_a_robot_message", message: "replyTo: only robot messages can be replied to" } };
    const payload = parseJsonOrNull(event.payload);
    if (!isRecord(payload))
      return { error: { status: 400, code: "cannot_reply", message: "replyTo: the stored message is not a robot message" } };
    const routes = replyRoutes(payload, this.deps.clock.now(), this.deps.apiBase(), app.clientId);
    return "error" in routes ? { error: { status: 400, code: "cannot_reply", message: `replyTo: ${routes.error}` } } : routes;
  }

  /** Tries each route in order: a refused session webhook falls back to the robot API. */
  private async attempt(request: SendRequest, known?: SendRoute[]): Promise<Attempt> {
    const found = known ? { routes: known } : this.routesFor(request);
    if ("error" in found) return { kind: "impossible", reason: found.error.message };
    let last: Attempt = { kind: "impossible", reason: "no route" };
    for (const route of found.routes) {
      const outcome =
        route.via === "sessionWebhook" ? await this.viaWebhook(route.url, request.message) : await this.viaRobotApi(route, request.message);
      last = { ...outcome, via: route.via };
      if (outcome.kind !== "refused") return last;
    }
    return last;
  }

  private async viaWebhook(url: string, message: OutMessage): Promise<FinalOutcome> {
    const res = await call(sessionWebhookRequest(url, message));
    return "reason" in res ? { kind: "retry", reason: res.reason } : judgeSessionWebhook(res.status, res.body);
  }

  private async viaRobotApi(route: Extract<SendRoute, { via: "robotApi" }>, message: OutMessage): Promise<FinalOutcome> {
    for (let fresh = false; ; fresh = true) {
      const token = await this.accessToken(fresh);
      if (typeof token !== "string") return token;
      const res = await call(robotApiRequest(this.deps.apiBase(), token, route.robotCode, route.target, message));
      const users = "userIds" in route.target ? route.target.userIds.length : 0;
      const outcome = "reason" in res ? ({ kind: "retry", reason: res.reason } as const) : judgeRobotApi(res.status, res.body, users);
      if (outcome.kind !== "bad_token") return outcome;
      // An expired or revoked token: fetched again once, never more.
      this.tokens.drop();
      if (fresh) return { kind: "refused", code: "InvalidAuthentication", message: "DingTalk refused a freshly fetched access token" };
    }
  }

  private async accessToken(fresh: boolean): Promise<string | FinalOutcome> {
    const now = this.deps.clock.now();
    const cached = fresh ? null : this.tokens.get(now);
    if (cached) return cached;
    const app = this.deps.app()!;
    const res = await call(accessTokenRequest(this.deps.apiBase(), app.clientId, app.clientSecret));
    if ("reason" in res) return { kind: "retry", reason: `access token: ${res.reason}` };
    const token = readAccessToken(res.status, res.body);
    if (token) {
      this.tokens.put(token.token, now + token.expiresInMs);
      return token.token;
    }
    const judged = judgeRobotApi(res.status, res.body);
    return judged.kind === "refused"
      ? { ...judged, message: `access token refused: ${judged.message}` }
      : { kind: "retry", reason: `access token: DingTalk answered ${res.status}` };
  }
}

/** One HTTP call to DingTalk: status and JSON body, or why there was no answer. */
async function call(request: Request): Promise<{ status: number; body: unknown } | { reason: string }> {
  try {
    const res = await fetch(request, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
    return { status: res.status, body: parseJsonOrNull(await res.text()) };
  } catch (error) {
    // Never the URL: a session webhook's query is a credential.
    return { reason: `DingTalk unreachable (${error instanceof Error ? error.name : "error"})` };
  }
}

/** Why a send can never work as asked: answered at once, before its key is taken. */
interface Refusal {
  status: 400 | 404;
  code: string;
  message: string;
}

function refusal({ status, code, message }: Refusal): SendAnswer {
  return { status, body: { error: { code, message } } };
}

function fateOf(row: SendRow) {
  return {
    key: row.key,
    state: row.state === "sending" ? "queued" : row.state,
    via: row.via,
    attempts: row.attempts,
    lastError: row.lastError,
    dingtalkCode: row.dingtalkCode,
    dingtalkMessage: row.dingtalkMessage,
    createdAt: row.createdAt,
    sentAt: row.state === "sent" ? row.doneAt : null,
    retryAt: row.state === "queued" ? row.nextAt : null,
  };
}

/** The same answer for the first call and every repeat of its key. */
function answerFor(row: SendRow): SendAnswer {
  switch (row.state) {
    case "sent":
      return { status: 200, body: { via: row.via, state: "sent", key: row.key } };
    case "refused":
      return {
        status: 502,
        body: {
          error: {
            code: "dingtalk_refused",
            message: `DingTalk refused the message: ${row.dingtalkMessage ?? row.lastError ?? "no reason given"}`,
            dingtalkCode: row.dingtalkCode,
            dingtalkMessage: row.dingtalkMessage,
            key: row.key,
          },
        },
      };
    case "failed":
      return {
        status: 502,
        body: {
          error: { code: "dingtalk_unreachable", message: `DingTalk could not be reached for 24 hours: ${row.lastError}`, key: row.key },
        },
      };
    default:
      return { status: 202, body: { state: "queued", key: row.key, retryAt: row.nextAt } };
  }
}

function describeTarget(request: SendRequest): string {
  if (request.replyTo) return `a reply to event ${request.replyTo}`;
  const to = request.to!;
  return "openConversationId" in to ? `to conversation ${to.openConversationId}` : `to ${to.userIds.length} user(s)`;
}
