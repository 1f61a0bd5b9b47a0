// The Worker entry point: the HTTP app, the cron that keeps Stream links up, and the Durable
// Object classes (one inbox and one Stream link per app).
import type { AppConfig } from "./config/apps";
import { loadConfig } from "./config/load";
import { app } from "./http/app";
import { ensureLink } from "./stream/link-wake";

export { Inbox } from "./inbox/inbox";
export { StreamLink } from "./stream/link";

export default {
  fetch: app.fetch,
  /** Every minute: wake the Stream link of each app that has one, so it reconnects with no request coming. */
  async scheduled(_controller, env, ctx) {
    let apps: AppConfig[];
    try {
      apps = [...loadConfig(env).apps.values()].filter((a) => a.streamLink);
    } catch {
      return; // the config error is logged by the loader
    }
    for (const a of apps) ctx.waitUntil(ensureLink(env, a.name));
  },
} satisfies ExportedHandler<Env>;
