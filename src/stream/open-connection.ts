// Asking DingTalk for a Stream connection: POST {apiBase}/v1.0/gateway/connections/open with the
// app's credentials, answered with an endpoint and a single-use ticket (dingtalk-protocol.md 3).
import { isRecord, parseJsonOrNull } from "../lib/json";
import { ROBOT_TOPIC } from "./frames";

export const LINK_UA = "dingtalk-fallback-bridge/0.2.0 (stream link)";

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
  /** `refused`: DingTalk turned the credentials down; anything else is worth a retry. */
  | { ok: false; refused: boolean; error: string };

/** Reads DingTalk's answer; never echoes the ticket or a secret into `error`. */
export async function readOpenResponse(res: Response): Promise<OpenOutcome> {
  const text = await res.text().catch(() => "");
  const parsed = parseJsonOrNull(text);
  const body: Record<string, unknown> = isRecord(parsed) ? parsed : {};
  const code = typeof body.code === "string" ? body.code : "";
  if (res.status === 401 || res.status === 403 || /auth/i.test(code)) {
    return { ok: false, refused: true, error: `DingTalk refused the app's credentials (${res.status} ${code || "no code"})` };
  }
  if (!res.ok) return { ok: false, refused: false, error: `connections/open answered ${res.status} ${code}`.trim() };
  const { endpoint, ticket } = body;
  if (typeof endpoint !== "string" || typeof ticket !== "string" || !/^(wss?|https?):\/\//.test(endpoint)) {
    return { ok: false, refused: false, error: "connections/open answered without an endpoint and ticket" };
  }
  return { ok: true, endpoint, ticket };
}

/** The URL to upgrade: Workers open WebSockets with fetch, on http(s) URLs. */
export function socketUrl(endpoint: string, ticket: string): string {
  const url = new URL(endpoint.replace(/^ws(s?):/, "http$1:"));
  url.searchParams.set("ticket", ticket);
  return url.toString();
}
