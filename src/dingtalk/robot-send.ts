// Sending as the robot (docs/dingtalk-protocol.md §4): the session webhook of a message, or the
// robot API with an access token. Pure: requests are built and answers judged here, sent elsewhere.
import { isRecord } from "../lib/json";
import { isRedirect } from "../lib/outbound";

export type OutMessage =
  | { msgtype: "text"; text: { content: string } }
  | { msgtype: "markdown"; markdown: { title: string; text: string } };

/** Where a send goes through the robot API. */
export type RobotTarget = { openConversationId: string } | { userIds: string[] };

/** How one call to DingTalk ended. */
export type CallOutcome =
  | { kind: "sent"; detail?: Record<string, unknown> }
  /** DingTalk said no to this message: not retried. */
  | { kind: "refused"; code: string; message: string }
  /** The access token was turned down: fetch another once, and try again. */
  | { kind: "bad_token" }
  /** Unreachable, 5xx or throttled: the outbox retries later. */
  | { kind: "retry"; reason: string };

/** How a send attempt ended, once a refused token has had its one refetch. */
export type FinalOutcome = Exclude<CallOutcome, { kind: "bad_token" }>;

export const GROUP_SEND = "/v1.0/robot/groupMessages/send";
export const OTO_SEND = "/v1.0/robot/oToMessages/batchSend";
export const ACCESS_TOKEN = "/v1.0/oauth2/accessToken";

const JSON_HEADERS = { "content-type": "application/json", accept: "application/json" };

/** The robot API's msgKey and msgParam (a JSON string) for a message. */
export function msgKeyAndParam(message: OutMessage): { msgKey: string; msgParam: string } {
  return message.msgtype === "text"
    ? { msgKey: "sampleText", msgParam: JSON.stringify({ content: message.text.content }) }
    : { msgKey: "sampleMarkdown", msgParam: JSON.stringify({ title: message.markdown.title, text: message.markdown.text }) };
}

export function robotApiRequest(apiBase: string, token: string, robotCode: string, target: RobotTarget, message: OutMessage): Request {
  const group = "openConversationId" in target;
  return new Request(`${apiBase}${group ? GROUP_SEND : OTO_SEND}`, {
    method: "POST",
    headers: { ...JSON_HEADERS, "x-acs-dingtalk-access-token": token },
    body: JSON.stringify({ robotCode, ...target, ...msgKeyAndParam(message) }),
  });
}

export function sessionWebhookRequest(url: string, message: OutMessage): Request {
  return new Request(url, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify(message) });
}

export function accessTokenRequest(apiBase: string, appKey: string, appSecret: string): Request {
  return new Request(`${apiBase}${ACCESS_TOKEN}`, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify({ appKey, appSecret }) });
}

/** `{accessToken, expireIn}` (seconds), or null when DingTalk gave none. */
export function readAccessToken(status: number, body: unknown): { token: string; expiresInMs: number } | null {
  if (status !== 200 || !isRecord(body) || typeof body.accessToken !== "string" || body.accessToken === "") return null;
  const seconds = typeof body.expireIn === "number" && body.expireIn > 0 ? body.expireIn : 7200;
  return { token: body.accessToken, expiresInMs: seconds * 1000 };
}

/** DingTalk's code when an app restricts API calls to listed server egress IPs and the caller is not one. */
export const IP_NOT_ALLOWED = "IpNotInWhiteList";
export const IP_NOT_ALLOWED_MESSAGE =
  "DingTalk refused the call from this server's IP: the app only accepts API calls from the server egress IPs listed in its " +
  "settings (服务器出口IP). A Worker on Cloudflare has no fixed egress IP: run the bridge with `dtbridge serve` on a host with " +
  "one and list it, or remove the restriction in the DingTalk developer console";

/** The allowlist refusal, in the new API's code or the old API's Chinese message. */
export function isIpNotAllowed(code: string, message: string): boolean {
  return /IpNotInWhiteList/i.test(code) || /IpNotInWhiteList|白名单/.test(message);
}

/**
 * Judges a robot API answer by its status and DingTalk's `code`. One-to-one sends answer 200 with
 * the users DingTalk throttled or did not know: when that is every user the send had, it is not sent.
 */
export function judgeRobotApi(status: number, body: unknown, users = 0): CallOutcome {
  const code = isRecord(body) && typeof body.code === "string" ? body.code.slice(0, 256) : "";
  const message = isRecord(body) && typeof body.message === "string" ? body.message.slice(0, 256) : "";
  if (isRedirect(status)) return { kind: "retry", reason: `DingTalk answered a redirect (${status}), which the bridge never follows` };
  if (isIpNotAllowed(code, message)) return { kind: "refused", code: IP_NOT_ALLOWED, message: IP_NOT_ALLOWED_MESSAGE };
  if (status >= 200 && status < 300) {
    const listed = (key: string) => (isRecord(body) && Array.isArray(body[key]) ? body[key].length : 0);
    if (users > 0 && listed("flowControlledStaffIdList") >= users)
      return { kind: "retry", reason: "DingTalk throttled every recipient (flowControlledStaffIdList)" };
    if (users > 0 && listed("invalidStaffIdList") >= users)
      return { kind: "refused", code: "invalidStaffIdList", message: "DingTalk knows none of the recipients' staffIds" };
    return { kind: "sent", ...(isRecord(body) ? { detail: body } : {}) };
  }
  if (status === 429 || /throttl|flowcontrol/i.test(code)) return { kind: "retry", reason: `throttled by DingTalk (${status} ${code})` };
  // An expired or invalid token is refused with 400 or 401 and code InvalidAuthentication.
  if ((status === 400 || status === 401 || status === 403) && /InvalidAuthentication|access_?token/i.test(code))
    return { kind: "bad_token" };
  if (status >= 500) return { kind: "retry", reason: `DingTalk answered ${status}` };
  return { kind: "refused", code: code || `http_${status}`, message: message || `DingTalk answered ${status}` };
}

/** Session webhooks answer HTTP 200 with an `errcode`; 0 is success. */
export function judgeSessionWebhook(status: number, body: unknown): FinalOutcome {
  if (status >= 500 || status === 429) return { kind: "retry", reason: `the session webhook answered ${status}` };
  if (isRedirect(status))
    return { kind: "retry", reason: `the session webhook answered a redirect (${status}), which the bridge never follows` };
  const errcode = isRecord(body) ? body.errcode : undefined;
  const errmsg = isRecord(body) && typeof body.errmsg === "string" ? body.errmsg : "";
  if (status === 200 && (errcode === 0 || errcode === "0")) return { kind: "sent" };
  // 130101: sending too fast.
  if (errcode === 130101) return { kind: "retry", reason: "the session webhook is throttled (130101)" };
  return { kind: "refused", code: String(errcode ?? `http_${status}`), message: errmsg || `the session webhook answered ${status}` };
}

/** DingTalk's own path for a message's session webhook. */
export const SESSION_WEBHOOK_PATH = "/robot/sendBySession";

/**
 * Session webhooks are called only as DingTalk gives them: https on a DingTalk host, on the default
 * port, at DingTalk's own path; or at that path on the host of DINGTALK_API_BASE (a local fake
 * DingTalk), and then only there. A URL from a payload must not make the bridge call anywhere else.
 */
export function allowedSessionWebhook(url: unknown, apiBase: string): string | null {
  if (typeof url !== "string") return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.username || parsed.password || parsed.pathname !== SESSION_WEBHOOK_PATH) return null;
  const base = new URL(apiBase);
  if (parsed.host === base.host && parsed.protocol === base.protocol) return parsed.toString();
  // A bridge pointed at another DingTalk (a local fake) never calls the real one: a message's reply
  // then goes by the robot API, to the DingTalk it is pointed at.
  if (!onDingTalk(base.hostname)) return null;
  return parsed.protocol === "https:" && parsed.port === "" && onDingTalk(parsed.hostname) ? parsed.toString() : null;
}

function onDingTalk(hostname: string): boolean {
  return hostname === "dingtalk.com" || hostname.endsWith(".dingtalk.com");
}
