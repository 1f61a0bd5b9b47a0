// Sending through the bridge: each send is claimed under its idempotency key, tried at once, and, if
// DingTalk cannot be reached, kept and retried from the alarm (5 s doubling to 10 min, for 24 h).
// DingTalk refusing a message is final and reported with DingTalk's own code. Answers are outcomes;
// the HTTP route decides what status each one is.
import type { SendGivenUp } from "../alerts/incidents";
import type { AppConfig } from "../config/apps";
import { IP_NOT_ALLOWED_MESSAGE } from "../dingtalk/robot-send";
import { retryBackoffMs } from "../lib/backoff";
import { canonicalJson } from "../lib/canonical-json";
import type { Clock } from "../lib/clock";
import { isRecord, parseJsonOrNull } from "../lib/json";
import { log } from "../lib/log";
import { type ApiUsage, ApiUsageStore } from "./api-usage";
import { type Attempt, type Check, DingTalkSender } from "./dingtalk-sender";
import { directPath, replyPaths, type SendPath } from "./send-paths";
import { type SendRequest, type SendRow, SendStore } from "./send-store";

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
}

/** What became of a send, as its key tells it: the first answer and every repeat of the key. */
export type SendOutcome =
  | { kind: "sent"; key: string; via: string }
  | { kind: "queued"; key: string; retryAt: number | null }
  /** DingTalk said no to the message itself: final. */
  | { kind: "refused"; key: string; dingtalkCode: string | null; dingtalkMessage: string | null; reason: string }
  /** Given up after a day of trying: final. */
  | { kind: "failed"; key: string; reason: string }
  /** The send can never work as asked; its key was not taken, so it can be fixed and sent again. */
  | { kind: "impossible"; why: "unknown_event" | "not_a_robot_message" | "cannot_reply"; reason: string }
  /** The key already names a different message: nothing is sent. */
  | { kind: "key_conflict"; key: string }
  /** An operator cancelled this key's send while it waited: final. */
  | { kind: "cancelled"; key: string };

export class Outbox {
  private readonly store: SendStore;
  private readonly sender: DingTalkSender;
  private readonly usage: ApiUsageStore;

  constructor(
    sql: SqlStorage,
    private readonly deps: OutboxDeps,
  ) {
    this.store = new SendStore(sql);
    this.usage = new ApiUsageStore(sql);
    this.sender = new DingTalkSender(sql, this.usage, deps);
  }

  /** DingTalk API calls this month and minute, against the quota. */
  apiUsage(now: number): ApiUsage {
    return this.usage.usage(now);
  }

  /** For `dtbridge doctor`: the app's credentials and its permission to send as the robot, checked against DingTalk. */
  async diagnose(): Promise<{ accessToken: Check; robotPermission: Check }> {
    const accessToken = await this.sender.checkAccessToken();
    const app = this.deps.app()!;
    const robotPermission = accessToken.ok
      ? await this.sender.checkRobotPermission(app.clientId)
      : { ok: false, detail: "not checked: no access token" };
    return { accessToken, robotPermission };
  }

  /** When DingTalk last refused a call by IP allowlist, while no call has gone through since. */
  ipRefusedAt(): number | null {
    return this.sender.ipRefusedAt;
  }

  ipRefusalText(): string {
    return `${IP_NOT_ALLOWED_MESSAGE}. Sends wait in the outbox meanwhile only when DingTalk was unreachable; refused ones are final.`;
  }

  async send(key: string, request: SendRequest): Promise<SendOutcome> {
    const now = this.deps.clock.now();
    const existing = this.store.get(key);
    if (existing) return sameMessage(existing.request, request) ? outcomeOf(existing) : { kind: "key_conflict", key };
    // A send that can never work is refused before its key is taken, so it can be fixed and sent again.
    const paths = this.pathsFor(request);
    if ("impossible" in paths) return paths.impossible;
    // Nothing awaits between the lookup and the claim, so the key is still free here.
    const row = this.store.claim(key, request, now, now + STALE_MS)!;
    return outcomeOf((await this.run(row, paths.paths)).row);
  }

  fate(key: string) {
    const row = this.store.get(key);
    return row ? fateOf(row) : null;
  }

  /** Retries what is due, within a time budget; answers the sends given up for good. */
  async retryDue(): Promise<SendGivenUp[]> {
    const started = Date.now();
    const givenUp: SendGivenUp[] = [];
    for (;;) {
      const now = this.deps.clock.now();
      const due = this.store.takeDue(now, now + STALE_MS);
      if (!due) return givenUp;
      if (due.cutOffByCrash) log("warn", "send_resent_after_crash", { app: this.deps.app()?.name ?? null, key: due.row.key });
      const done = await this.run(due.row);
      if (done.givenUp) givenUp.push(done.givenUp);
      if (Date.now() - started > RETRY_BUDGET_MS) return givenUp;
    }
  }

  nextDue(): number | null {
    return this.store.nextDue();
  }

  pending() {
    return { ...this.store.pending(), resentAfterCrash: this.store.resentAfterCrash() };
  }

  recent(limit: number) {
    return this.store.list(undefined, limit).map(fateOf);
  }

  list(fate: Parameters<SendStore["list"]>[0], limit: number) {
    return this.store.list(fate, limit).map(fateOf);
  }

  /** Cancels what waits for a retry; answers the keys cancelled and those that were not waiting. */
  cancel(keys: readonly string[]): { cancelled: string[]; notQueued: string[] } {
    const cancelled = this.store.cancel(keys, this.deps.clock.now());
    log("warn", "sends_cancelled", { app: this.deps.app()?.name ?? null, keys: cancelled });
    return { cancelled, notQueued: keys.filter((k) => !cancelled.includes(k)) };
  }

  sweep(cutoff: number, now: number): void {
    this.store.sweep(cutoff);
    this.usage.sweep(now);
  }

  /** One attempt, and what it leaves in the table; `paths` when the caller has just worked them out. */
  private async run(row: SendRow, paths?: SendPath[]): Promise<{ row: SendRow; givenUp?: SendGivenUp }> {
    const known = paths ? { paths } : this.pathsFor(row.request);
    const result: Attempt =
      "impossible" in known
        ? { kind: "refused", code: null, message: known.impossible.reason }
        : await this.sender.attempt(known.paths, row.request.message);
    const now = this.deps.clock.now();
    const attempts = row.attempts + 1;
    const app = this.deps.app()?.name ?? null;
    let givenUp: SendGivenUp | undefined;
    if (result.kind === "sent") {
      this.store.finish(row.key, "sent", { via: result.via, at: now, attempts });
    } else if (result.kind === "refused") {
      this.store.finish(row.key, "refused", {
        via: result.via ?? null,
        error: result.message,
        code: result.code,
        message: result.message,
        at: now,
        attempts,
      });
      log("warn", "send_refused", { app, key: row.key, code: result.code, message: result.message });
    } else if (now - row.createdAt >= GIVE_UP_AFTER_MS) {
      this.store.finish(row.key, "failed", { error: result.reason, at: now, attempts });
      log("error", "send_failed", { app, key: row.key, attempts, error: result.reason });
      givenUp = { at: now, key: row.key, target: describeTarget(row.request), attempts, reason: result.reason };
    } else {
      this.store.requeue(row.key, now + retryBackoffMs(attempts), attempts, result.reason);
      log("warn", "send_queued", { app, key: row.key, attempts, reason: result.reason });
    }
    return { row: this.store.get(row.key)!, ...(givenUp ? { givenUp } : {}) };
  }

  private pathsFor(request: SendRequest): { paths: SendPath[] } | { impossible: Extract<SendOutcome, { kind: "impossible" }> } {
    const impossible = (why: "unknown_event" | "not_a_robot_message" | "cannot_reply", reason: string) => ({
      impossible: { kind: "impossible" as const, why, reason },
    });
    const app = this.deps.app()!;
    if (request.to) return { paths: [directPath(request.to, app.clientId)] };
    const event = this.deps.findEvent(request.replyTo!);
    if (!event) return impossible("unknown_event", `replyTo: no stored event "${request.replyTo}" (it may be past retention)`);
    if (event.kind !== "robot") return impossible("not_a_robot_message", "replyTo: only robot messages can be replied to");
    const payload = parseJsonOrNull(event.payload);
    if (!isRecord(payload)) return impossible("cannot_reply", "replyTo: the stored message is not a robot message");
    const paths = replyPaths(payload, this.deps.clock.now(), this.deps.apiBase(), app.clientId);
    return "error" in paths ? impossible("cannot_reply", `replyTo: ${paths.error}`) : paths;
  }
}

/** A key reused for the same message is a retry; for another message it is a mistake. */
function sameMessage(a: SendRequest, b: SendRequest): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function outcomeOf(row: SendRow): SendOutcome {
  switch (row.state) {
    case "sent":
      return { kind: "sent", key: row.key, via: row.via ?? "robotApi" };
    case "refused":
      return {
        kind: "refused",
        key: row.key,
        dingtalkCode: row.dingtalkCode,
        dingtalkMessage: row.dingtalkMessage,
        reason: row.dingtalkMessage ?? row.lastError ?? "no reason given",
      };
    case "failed":
      return { kind: "failed", key: row.key, reason: row.lastError ?? "DingTalk could not be reached" };
    case "cancelled":
      return { kind: "cancelled", key: row.key };
    default:
      return { kind: "queued", key: row.key, retryAt: row.nextAt };
  }
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

function describeTarget(request: SendRequest): string {
  if (request.replyTo) return `a reply to event ${request.replyTo}`;
  const to = request.to!;
  return "openConversationId" in to ? `to conversation ${to.openConversationId}` : `to ${to.userIds.length} user(s)`;
}
