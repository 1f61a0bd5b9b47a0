import type { Context } from "hono";
import type { BridgeEnv } from "./context";

/** The URL to paste into DingTalk's console for this app: on PUBLIC_URL, or where this request came. */
export function robotUrlFor(c: Context<BridgeEnv>): string {
  const origin = c.get("config").publicUrl ?? new URL(c.req.url).origin;
  return `${origin}/dingtalk/${c.get("app").name}/robot`;
}
