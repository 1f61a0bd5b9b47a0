// Sends one alert to the configured sink: a DingTalk custom group robot (markdown, optionally
// signed, docs/dingtalk-protocol.md §4) when the URL's path is /robot/send, plain JSON otherwise.
import { isRecord, parseJsonOrNull } from "../lib/json";
import { callOut, isRedirect } from "../lib/outbound";
import { robotSign } from "./robot-sign";

/** An alert sink that does not answer within this is a failed try, retried later. */
export const ALERT_TIMEOUT_MS = 5_000;

export interface AlertMessage {
  app: string;
  incident: string;
  phase: string;
  title: string;
  text: string;
  at: number;
}

export function isDingTalkRobotUrl(url: URL): boolean {
  return url.pathname.endsWith("/robot/send");
}

export async function buildAlertRequest(sinkUrl: string, secret: string | undefined, alert: AlertMessage, nowMs: number): Promise<Request> {
  const url = new URL(sinkUrl);
  let body: unknown;
  if (isDingTalkRobotUrl(url)) {
    if (secret) {
      // Same HMAC as the robot callback; URLSearchParams does the URL-encoding the sink expects.
      url.searchParams.set("timestamp", String(nowMs));
      url.searchParams.set("sign", await robotSign(secret, String(nowMs)));
    }
    const mark = alert.phase === "resolved" ? "✅" : "🚨";
    body = {
      msgtype: "markdown",
      markdown: {
        title: alert.title,
        text: `### ${mark} ${alert.title}\n\napp: **${alert.app}** · ${new Date(alert.at).toISOString()}\n\n${alert.text}`,
      },
    };
  } else {
    body = { source: "dingtalk-fallback-bridge", ...alert, atIso: new Date(alert.at).toISOString() };
  }
  return new Request(url, {
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8" },
    body: JSON.stringify(body),
  });
}

/** Sends and answers null on success, or what went wrong; DingTalk answers 200 with errcode on failure. */
export async function sendAlert(request: Request, timeoutMs = ALERT_TIMEOUT_MS): Promise<string | null> {
  const res = await callOut(request, timeoutMs);
  // Never the URL: the query string of a DingTalk robot URL carries its access token.
  if ("error" in res) return `the sink did not answer (${res.error})`;
  if (res.status < 200 || res.status >= 300)
    return `sink answered ${res.status}${isRedirect(res.status) ? " (a redirect, never followed)" : ""}`;
  if (isDingTalkRobotUrl(new URL(request.url))) {
    const body = parseJsonOrNull(res.text);
    const errcode = isRecord(body) ? body.errcode : undefined;
    if (typeof errcode === "number" && errcode !== 0) return `DingTalk robot answered errcode ${errcode}`;
  }
  return null;
}
