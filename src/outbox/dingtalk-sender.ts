// One attempt at a send: each path in turn (a refused session webhook falls back to the robot API),
// with the robot API's access token cached and fetched again once when DingTalk turns it down. Every
// call to DingTalk's API is counted against the month's quota, and a refusal by IP allowlist is kept
// until a call goes through.
import type { AppConfig } from "../config/apps";
import {
  accessTokenRequest,
  type FinalOutcome,
  IP_NOT_ALLOWED,
  judgeRobotApi,
  judgeSessionWebhook,
  type OutMessage,
  readAccessToken,
  robotApiRequest,
  sessionWebhookRequest,
} from "../dingtalk/robot-send";
import type { Clock } from "../lib/clock";
import { isRecord, parseJsonOrNull } from "../lib/json";
import { callOut } from "../lib/outbound";
import { AccessTokenCache } from "./access-token";
import type { ApiUsageStore } from "./api-usage";
import type { SendPath } from "./send-paths";

/** A send's call to DingTalk that does not answer within this is tried again later. */
const CALL_TIMEOUT_MS = 10_000;

/** How one attempt ended, and by which path. */
export type Attempt =
  | { kind: "sent"; via: string }
  | { kind: "refused"; code: string | null; message: string; via?: string }
  | { kind: "retry"; reason: string };

export class DingTalkSender {
  private readonly tokens: AccessTokenCache;
  /** When DingTalk last refused an API call by IP allowlist, until a call goes through. */
  ipRefusedAt: number | null = null;

  constructor(
    sql: SqlStorage,
    private readonly usage: ApiUsageStore,
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
    const res = await callOut(sessionWebhookRequest(url, message), CALL_TIMEOUT_MS);
    return "error" in res ? unreachable(res.error) : judgeSessionWebhook(res.status, parseJsonOrNull(res.text));
  }

  private async viaRobotApi(path: Extract<SendPath, { via: "robotApi" }>, message: OutMessage): Promise<FinalOutcome> {
    for (let fresh = false; ; fresh = true) {
      const token = await this.accessToken(fresh);
      if (typeof token !== "string") return token;
      const res = await this.callApi(robotApiRequest(this.deps.apiBase(), token, path.robotCode, path.target, message));
      const users = "userIds" in path.target ? path.target.userIds.length : 0;
      const outcome = "error" in res ? unreachable(res.error) : judgeRobotApi(res.status, res.body, users);
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
    const res = await this.callApi(accessTokenRequest(this.deps.apiBase(), app.clientId, app.clientSecret));
    if ("error" in res) return { kind: "retry", reason: `access token: ${unreachable(res.error).reason}` };
    const token = readAccessToken(res.status, res.body);
    if (token) {
      this.tokens.put(token.token, now + token.expiresInMs);
      return token.token;
    }
    const judged = judgeRobotApi(res.status, res.body);
    return judged.kind === "refused"
      ? { ...judged, message: `access token refused: ${judged.message}` }
      : { kind: "retry", reason: `access token: ${judged.kind === "retry" ? judged.reason : `DingTalk answered ${res.status}`}` };
  }

  /** For `dtbridge doctor`: a fresh access token, which proves the credentials and the egress IP. */
  async checkAccessToken(): Promise<Check> {
    const token = await this.accessToken(true);
    return typeof token === "string"
      ? { ok: true, detail: "DingTalk issued an access token" }
      : { ok: false, detail: describeOutcome(token) };
  }

  /**
   * For `dtbridge doctor`: whether the app may send as the robot. DingTalk offers no dry run, so the
   * check sends one-to-one to nobody: with the permission DingTalk refuses the empty recipient list;
   * without it, it refuses the access.
   */
  async checkRobotPermission(robotCode: string): Promise<Check> {
    const token = await this.accessToken(false);
    if (typeof token !== "string") return { ok: false, detail: describeOutcome(token) };
    const res = await this.callApi(
      robotApiRequest(this.deps.apiBase(), token, robotCode, { userIds: [] }, { msgtype: "text", text: { content: "." } }),
    );
    if ("error" in res) return { ok: false, detail: unreachable(res.error).reason };
    const code = isRecord(res.body) && typeof res.body.code === "string" ? res.body.code : "";
    if (/AccessDenied|Forbidden|permission/i.test(code) || res.status === 403) {
      return {
        ok: false,
        detail: `DingTalk refused the robot API (${res.status} ${code}): grant the app the robot message permission (企业内机器人发送消息权限)`,
      };
    }
    return { ok: true, detail: `the robot API took the app's token (a dry call answered ${res.status}${code ? ` ${code}` : ""})` };
  }

  /** A call to DingTalk's API: counted, and watched for a refusal by IP allowlist. */
  private async callApi(request: Request): Promise<{ status: number; body: unknown } | { error: string }> {
    this.usage.count(this.deps.clock.now());
    const res = await callOut(request, CALL_TIMEOUT_MS);
    if ("error" in res) return res;
    const body = parseJsonOrNull(res.text);
    const judged = judgeRobotApi(res.status, body);
    if (judged.kind === "refused" && judged.code === IP_NOT_ALLOWED) this.ipRefusedAt = this.deps.clock.now();
    else if (res.status >= 200 && res.status < 300) this.ipRefusedAt = null;
    return { status: res.status, body };
  }
}

export interface Check {
  ok: boolean;
  detail: string;
}

function describeOutcome(o: FinalOutcome): string {
  return o.kind === "refused" ? `${o.code}: ${o.message}` : o.kind === "retry" ? o.reason : "sent";
}

/** No answer at all: kept and tried again. Never the URL, since a session webhook's query is a credential. */
function unreachable(error: string): { kind: "retry"; reason: string } {
  return { kind: "retry", reason: `DingTalk unreachable (${error})` };
}
