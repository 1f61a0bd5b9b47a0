// Asking DingTalk for a Stream connection: POST {apiBase}/v1.0/gateway/connections/open with the
// app's credentials, answered with an endpoint and a single-use ticket (docs/dingtalk-protocol.md §3).
import { IP_NOT_ALLOWED_MESSAGE, isIpNotAllowed } from "../dingtalk/robot-send";
import { isRecord, parseJsonOrNull } from "../lib/json";
import { isLoopback } from "../lib/loopback";
import { type CallResult, isRedirect } from "../lib/outbound";
import { BRIDGE_VERSION } from "../lib/version";
import { ROBOT_TOPIC } from "./frames";

export const LINK_UA = `dingtalk-fallback-bridge/${BRIDGE_VERSION} (stream link)`;

export function openRequest(apiBase: string, clientId: string, clientSecret: string): Request {
  return new Request(`${apiBase}/v1.0/gateway/connections/open`, {
    method: "POST",
    // Without Accept: application/json DingTalk answers XML.
    headers: { accept: "application/json", "content-type": "application/json" },
    body: JSON.stringify({
      clientId,
      clientSecret,
      // Only the robot topic: other callbacks need business data in their ack, which a bridge
      // that commits before acking cannot give.
      subscriptions: [{ type: "CALLBACK", topic: ROBOT_TOPIC }],
      ua: LINK_UA,
    }),
  });
}

export type OpenOutcome =
  | { ok: true; endpoint: string; ticket: string }
  /**
   * `refused`: DingTalk turned the app down (its credentials, or this server's egress IP), retried
   * rarely; anything else is worth a retry with backoff.
   */
  | { ok: false; refused: "credentials" | "ip_not_allowed" | null; error: string };

/** Reads DingTalk's answer; never echoes the ticket or a secret into `error`, and keeps what it echoes short. */
export function readOpenResponse(res: CallResult): OpenOutcome {
  if ("error" in res) return { ok: false, refused: null, error: `could not reach DingTalk (${res.error})` };
  const parsed = parseJsonOrNull(res.text);
  const body: Record<string, unknown> = isRecord(parsed) ? parsed : {};
  const code = typeof body.code === "string" ? body.code.slice(0, 256) : "";
  const message = typeof body.message === "string" ? body.message.slice(0, 256) : "";
  if (isIpNotAllowed(code, message)) return { ok: false, refused: "ip_not_allowed", error: IP_NOT_ALLOWED_MESSAGE };
  // Only an authentication failure by status is a refusal: a code alone may mean anything.
  if (res.status === 401 || res.status === 403) {
    return { ok: false, refused: "credentials", error: `DingTalk refused the app's credentials (${res.status} ${code || "no code"})` };
  }
  if (isRedirect(res.status))
    return { ok: false, refused: null, error: `connections/open answered a redirect (${res.status}), which the bridge never follows` };
  if (res.status < 200 || res.status >= 300)
    return { ok: false, refused: null, error: `connections/open answered ${res.status} ${code}`.trim() };
  const { endpoint, ticket } = body;
  if (typeof endpoint !== "string" || typeof ticket !== "string") {
    return { ok: false, refused: null, error: "connections/open answered without an endpoint and ticket" };
  }
  if (!secureEndpoint(endpoint)) {
    return {
      ok: false,
      refused: null,
      error: `connections/open gave an endpoint that is not wss:// (${endpoint.slice(0, 100)}); no socket was opened`,
    };
  }
  return { ok: true, endpoint, ticket };
}

/** The Stream endpoint must be wss://, but for a loopback host (a local fake DingTalk). */
export function secureEndpoint(endpoint: string): boolean {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  return url.protocol === "wss:" || (url.protocol === "ws:" && isLoopback(url.hostname));
}

/** The URL to upgrade: Workers open WebSockets with fetch, on http(s) URLs. */
export function socketUrl(endpoint: string, ticket: string): string {
  const url = new URL(endpoint.replace(/^ws(s?):/, "http$1:"));
  url.searchParams.set("ticket", ticket);
  return url.toString();
}
