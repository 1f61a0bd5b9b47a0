// Signed DingTalk requests for tests, built with the bridge's own protocol code.
import { SELF } from "cloudflare:test";
import { encryptEvent, eventCipherKey } from "../../../src/dingtalk/event-cipher";
import { sealEnvelope } from "../../../src/dingtalk/event-envelope";
import { eventSignature } from "../../../src/dingtalk/event-signature";
import { robotSign } from "../../../src/dingtalk/robot-sign";
import { type SampleOptions, sampleRobotMessage } from "../../../src/dingtalk/sample-messages";
import { EVENT_AES_KEY, EVENT_OWNER_KEY, EVENT_TOKEN, ROBOT_SECRET, tokenFor } from "../test-env";

export const BASE = "https://bridge.test";

export async function postRobot(
  app: string,
  body: unknown,
  opts: { timestamp?: string; sign?: string; secret?: string; rawBody?: string | Uint8Array } = {},
): Promise<Response> {
  const timestamp = opts.timestamp ?? String(Date.now());
  const sign = opts.sign ?? (await robotSign(opts.secret ?? ROBOT_SECRET, timestamp));
  return SELF.fetch(`${BASE}/dingtalk/${app}/robot`, {
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8", timestamp, sign },
    body: opts.rawBody ?? JSON.stringify(body),
  });
}

export function robotMessage(options: SampleOptions = {}): Record<string, unknown> {
  return sampleRobotMessage({ msgtype: "text", ...options });
}

/** An event push as DingTalk would send it, encrypted and signed with the test app's keys. */
export async function postEvent(
  app: string,
  event: Record<string, unknown>,
  opts: { ownerKey?: string; spelling?: "new" | "old"; timestamp?: string } = {},
): Promise<Response> {
  const cipher = (await eventCipherKey(EVENT_AES_KEY))!;
  const encrypt = await encryptEvent(cipher, sealEnvelope(JSON.stringify(event), opts.ownerKey ?? EVENT_OWNER_KEY));
  const timestamp = opts.timestamp ?? String(Date.now());
  const nonce = "nonce123";
  const signature = await eventSignature(EVENT_TOKEN, timestamp, nonce, encrypt);
  const query =
    opts.spelling === "old"
      ? `signature=${signature}&timeStamp=${timestamp}&nonce=${nonce}`
      : `msg_signature=${signature}&timestamp=${timestamp}&nonce=${nonce}`;
  return SELF.fetch(`${BASE}/dingtalk/${app}/events?${query}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ encrypt }),
  });
}

export function consumerFetch(app: string, path: string, body?: unknown, token = tokenFor(app)): Promise<Response> {
  return SELF.fetch(`${BASE}/v1/${app}/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export async function consumerJson<T = any>(app: string, path: string, body?: unknown): Promise<T> {
  const res = await consumerFetch(app, path, body);
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
  return res.json() as Promise<T>;
}
