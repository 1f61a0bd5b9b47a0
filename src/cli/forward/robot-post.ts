// A robot message posted to an HTTP-mode bot exactly as DingTalk posts it: the payload's own bytes,
// with a fresh `timestamp` and its `sign` made with the app's client secret.
import { abortable } from "../../client/timing";
import { robotSign } from "../../dingtalk/robot-sign";

export interface BotAnswer {
  status: number;
  body: string;
}

/** Milliseconds, never the same twice in this process: a bot may refuse a timestamp/sign pair seen before. */
let lastTimestamp = 0;
export function freshTimestamp(now = Date.now()): string {
  lastTimestamp = Math.max(now, lastTimestamp + 1);
  return String(lastTimestamp);
}

export async function postRobotMessage(url: string, payloadText: string, secret: string, signal: AbortSignal): Promise<BotAnswer> {
  const timestamp = freshTimestamp();
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8", timestamp, sign: await robotSign(secret, timestamp) },
    body: payloadText,
    // DingTalk follows no redirect; neither does its stand-in.
    redirect: "manual",
    signal,
  });
  return { status: res.status, body: await abortable(res.text(), signal) };
}
