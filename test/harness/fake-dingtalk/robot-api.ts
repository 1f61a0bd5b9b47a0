// DingTalk's sending side: oauth2 access tokens, the robot send APIs, and a session-webhook sink.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FakeContext } from "./context.ts";
import { dingError, isObject, parseJson, readApiBody, readText, sendJson } from "./http-io.ts";
import { accessToken, hexId, requestId } from "./ids.ts";
import type { RobotSendBody, SessionSendBody, TokenRecord } from "./types.ts";

export const GROUP_SEND_PATH = "/v1.0/robot/groupMessages/send";
export const OTO_SEND_PATH = "/v1.0/robot/oToMessages/batchSend";
export const SESSION_PATH = "/robot/sendBySession";

const MSG_KEYS = new Set([
  "sampleText",
  "sampleMarkdown",
  "sampleImageMsg",
  "sampleLink",
  "sampleActionCard",
  "sampleActionCard2",
  "sampleActionCard3",
  "sampleActionCard4",
  "sampleActionCard5",
  "sampleActionCard6",
  "sampleAudio",
  "sampleFile",
  "sampleVideo",
]);
const SESSION_MSGTYPES = new Set(["text", "markdown", "actionCard", "feedCard", "link"]);
const MAX_USER_IDS = 20;

interface TokenEntry {
  clientId: string;
  expiresAt: number;
  revoked: boolean;
}

class TokenBook {
  private readonly tokens = new Map<string, TokenEntry>();

  issue(clientId: string, ttlMs: number): TokenRecord {
    const at = Date.now();
    const record = { token: accessToken(), clientId, at, expiresAt: at + ttlMs };
    this.tokens.set(record.token, { clientId, expiresAt: record.expiresAt, revoked: false });
    return record;
  }

  clientIdFor(token: string | undefined): string | null {
    const entry = token ? this.tokens.get(token) : undefined;
    if (!entry || entry.revoked || Date.now() >= entry.expiresAt) return null;
    return entry.clientId;
  }

  expireAll(): void {
    for (const entry of this.tokens.values()) entry.revoked = true;
  }
}

type Checked<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

export class RobotApi {
  private readonly tokens = new TokenBook();
  /** Client ids without the robot message permission; "*" for every app. */
  readonly permissionDenied = new Set<string>();

  constructor(private readonly ctx: FakeContext) {}

  setPermission(granted: boolean, clientId = "*"): void {
    if (granted) this.permissionDenied.delete(clientId);
    else this.permissionDenied.add(clientId);
  }

  expireTokens(): void {
    this.tokens.expireAll();
  }

  /** The client whose access token a call carries, if any. */
  clientIdOf(req: IncomingMessage): string | null {
    const header = req.headers["x-acs-dingtalk-access-token"];
    return this.tokens.clientIdFor(Array.isArray(header) ? header[0] : header);
  }

  async accessToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readApiBody(req, res);
    if (!body) return;
    if (typeof body.appKey !== "string" || typeof body.appSecret !== "string") {
      dingError(res, 400, "MissingParameter", "appKey and appSecret are required");
      return;
    }
    const app = this.ctx.apps.get(body.appKey);
    if (!app) {
      dingError(res, 400, "invalidClientId", "无效的clientId");
      return;
    }
    if (app.clientSecret !== body.appSecret) {
      dingError(res, 400, "invalidClientSecret", "无效的clientSecret");
      return;
    }
    const record = this.tokens.issue(app.clientId, this.ctx.settings.tokenTtlMs);
    this.ctx.records.tokensIssued.push(record);
    sendJson(res, 200, { accessToken: record.token, expireIn: Math.round(this.ctx.settings.tokenTtlMs / 1000) });
  }

  async groupSend(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await this.robotSend(req, res, GROUP_SEND_PATH, (body) =>
      typeof body.openConversationId === "string" && body.openConversationId !== ""
        ? { ok: true, value: undefined }
        : { ok: false, code: "invalidParameter.param.invalid", message: "openConversationId is required" },
    );
  }

  async otoSend(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await this.robotSend(req, res, OTO_SEND_PATH, (body) => {
      const ids = body.userIds;
      if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === "string" && id !== "")) {
        return { ok: false, code: "invalidParameter.userIds.empty", message: "The user userId list is empty." };
      }
      if (ids.length > MAX_USER_IDS) {
        return { ok: false, code: "invalidParameter.userIds.overMax", message: "The user userId list exceeds the maximum limit." };
      }
      return { ok: true, value: undefined };
    });
  }

  async session(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const text = await readText(req);
    const session = url.searchParams.get("session");
    const parsed = parseJson(text);
    // Webhooks answer HTTP 200 with an errcode, never a 4xx, whatever is wrong.
    if (!session || !parsed.ok || !isObject(parsed.value) || !validSessionBody(parsed.value)) {
      sendJson(res, 200, { errcode: 40035, errmsg: "缺少参数 json" });
      return;
    }
    this.ctx.records.sessionSends.push({ session, at: Date.now(), body: parsed.value });
    sendJson(res, 200, { errcode: 0, errmsg: "ok" });
  }

  private async robotSend(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    checkTarget: (body: Record<string, unknown>) => Checked<undefined>,
  ): Promise<void> {
    const header = req.headers["x-acs-dingtalk-access-token"];
    const token = Array.isArray(header) ? header[0] : header;
    const body = await readApiBody(req, res);
    if (!body) return;
    const clientId = this.clientIdOf(req);
    if (clientId === null) {
      dingError(res, this.ctx.settings.invalidTokenStatus, "InvalidAuthentication", "不合法的access_token");
      return;
    }
    if (this.permissionDenied.has("*") || this.permissionDenied.has(clientId)) {
      // The gateway refuses a token whose app lacks the API's permission before it reads the body.
      sendJson(res, 403, {
        requestid: requestId(),
        code: "Forbidden.AccessDenied.AccessTokenPermissionDenied",
        message: "没有调用该接口的权限，接口权限申请参考：https://open.dingtalk.com/document/orgapp/add-api-permission",
        accessdenieddetail: { requiredScopes: ["qyapi_robot_sendmsg"] },
      });
      return;
    }
    const checked = this.checkMessage(body, clientId);
    if (!checked.ok) return dingError(res, 400, checked.code, checked.message);
    const target = checkTarget(body);
    if (!target.ok) return dingError(res, 400, target.code, target.message);
    this.ctx.records.robotSends.push({ path, at: Date.now(), token: token ?? "", body: checked.value.body, param: checked.value.param });
    const processQueryKey = hexId(16);
    sendJson(
      res,
      200,
      path === OTO_SEND_PATH ? { processQueryKey, invalidStaffIdList: [], flowControlledStaffIdList: [] } : { processQueryKey },
    );
  }

  private checkMessage(body: Record<string, unknown>, clientId: string): Checked<{ body: RobotSendBody; param: Record<string, unknown> }> {
    const app = this.ctx.apps.get(clientId);
    const { robotCode, msgKey, msgParam } = body;
    if (typeof robotCode !== "string" || robotCode === "") {
      return { ok: false, code: "invalidParameter.robotCode.empty", message: "The bot robotCode is empty." };
    }
    if (robotCode !== clientId && robotCode !== app?.robotCode) {
      return { ok: false, code: "invalidParameter.robotCode.auth", message: "This app's appkey does not match the bot's robotCode." };
    }
    if (typeof msgKey !== "string" || msgKey === "") {
      return { ok: false, code: "invalidParameter.msgKey.empty", message: "The msgKey is missing." };
    }
    if (!MSG_KEYS.has(msgKey)) return { ok: false, code: "invalidParameter.msgKey.invalid", message: "The msgKey is invalid." };
    // msgParam is a JSON string, not an object: a client that sends the object is wrong.
    const parsed = typeof msgParam === "string" ? parseJson(msgParam) : { ok: false as const };
    if (!parsed.ok || !isObject(parsed.value) || !paramFits(msgKey, parsed.value)) {
      return { ok: false, code: "invalidParameter.msgParam.invalid", message: "The msgParam must be in JSON format and fit the msgKey." };
    }
    return { ok: true, value: { body: body as RobotSendBody, param: parsed.value } };
  }
}

function paramFits(msgKey: string, param: Record<string, unknown>): boolean {
  if (msgKey === "sampleText") return typeof param.content === "string";
  if (msgKey === "sampleMarkdown") return typeof param.title === "string" && typeof param.text === "string";
  return true;
}

function validSessionBody(body: Record<string, unknown>): body is SessionSendBody {
  const { msgtype } = body;
  if (typeof msgtype !== "string" || !SESSION_MSGTYPES.has(msgtype)) return false;
  const part = body[msgtype];
  if (!isObject(part)) return false;
  if (msgtype === "text") return typeof part.content === "string";
  if (msgtype === "markdown") return typeof part.title === "string" && typeof part.text === "string";
  return true;
}
