import type { Context } from "hono";
import type { BridgeEnv } from "./context";

/** The inbox object of the app the request names: one per app, addressed by its name. */
export function inboxFor(c: Context<BridgeEnv>) {
  return c.env.INBOX.getByName(c.get("app").name);
}
