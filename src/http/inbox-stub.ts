import type { Context } from "hono";
import type { BridgeEnv } from "./context";

/** The app's inbox object: one per app, addressed by name. */
export function inboxFor(c: Context<BridgeEnv>, app: string) {
  return c.env.INBOX.getByName(app);
}
