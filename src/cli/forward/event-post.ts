// An event push posted to an HTTP event handler exactly as DingTalk posts it: the decrypted event's
// own text sealed with the owner key, encrypted with the app's AES key and signed with its token;
// the handler must answer "success", encrypted, as DingTalk requires.

import { abortable } from "../../client/timing";
import { type EventKeys, openEvent, sealEvent } from "./event-crypto";
import type { BotAnswer } from "./robot-post";

export async function postEvent(url: string, eventText: string, keys: EventKeys, signal: AbortSignal): Promise<BotAnswer> {
  const sealed = await sealEvent(keys, eventText);
  const target = new URL(url);
  target.searchParams.set("msg_signature", sealed.msg_signature);
  target.searchParams.set("timestamp", sealed.timeStamp);
  target.searchParams.set("nonce", sealed.nonce);
  const res = await fetch(target, {
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8" },
    body: JSON.stringify({ encrypt: sealed.encrypt }),
    redirect: "manual",
    signal,
  });
  return { status: res.status, body: await abortable(res.text(), signal) };
}

/** Whether the handler's answer is "success" encrypted with the app's key, as DingTalk requires. */
export async function answeredSuccess(body: string, keys: EventKeys): Promise<boolean> {
  let encrypt: unknown;
  try {
    encrypt = (JSON.parse(body) as { encrypt?: unknown }).encrypt;
  } catch {
    return false;
  }
  return typeof encrypt === "string" && (await openEvent(keys, encrypt)) === "success";
}
