// One attempt at a send: each path in turn (a refused session webhook falls back to the robot API),
// with the robot API's access token cached and fetched again once when DingTalk turns it down.

import type { AppConfig } from "../config/apps";
import type { FinalOutcome } from "../dingtalk/robot-send";
import {
  accessTokenRequest,
  judgeRobotApi,
  judgeSessionWebhook,
  type OutMessage,
  readAccessToken,
  robotApiRequest,
  sessionWebhookRequest,
} from "../dingtalk/robot-send";
import type { Clock } from "../lib/clock";
import { parseJsonOrNull } from "../lib/json";
import { AccessTokenCache } from "./access-token";
import type { SendPath } from "./send-paths";

const CALL_TIMEOUT_MS = 10_000;

/** How one attempt ended, and by which path. */
export type Attempt =
  | { kind: "sent"; via: string }
  | { kind: "refused"; code: string | null; message: string; via?: string }
  | { kind: "retry"; reason: string };

export class DingTalkSender {
  private readonly tokens: AccessTokenCache;

  constructor(
    sql: SqlStorage,
    private readonly deps: { clock: Clock; app(): AppConfig | undefined; apiBase(): string },
  ) {
    this.tokens = new AccessTokenCache(sql);
  }

  async attempt(paths: readonly SendPath[], message: OutMessage): Promise<Attempt> {
    let last: Attempt = { kind: "refused", code: null, message: "no path to send by" };
    for (const path of paths) {
      const outcome = path.via === "sessionWebhook" ? await this.viaWebhook(path.url, message) : await this.viaRobotApi(path, message);
      last =
        outcome.kind === "sent" ? { kind: "sent", via: path.via } : outcome.kind === "refused" ? { ...outcome, via: path.via } : outcome;
      if (outcome.kind !== "refused") return last;
    }
    return last;
  }

  private async viaWebhook(url: string, message: OutMessage): Promise<FinalOutcome> {
    const res = await call(sessionWebhookRequest(url, message));
    return "reason" in res ? { kind: "retry", reason: res.reason } : judgeSessionWebhook(res.status, res.body);
  }

  private async viaRobotApi(path: Extract<SendPath, { via: "robotApi" }>, message: OutMessage): Promise<FinalOutcome> {
    for (let fresh = false; ; fresh = true) {
      const token = await this.accessToken(fresh);
      if (typeof token !== "string") return token;
      const res = await call(robotApiRequest(this.deps.apiBase(), token, path.robotCode, path.target, message));
      const users = "userIds" in path.target ? path.target.userIds.length : 0;
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
