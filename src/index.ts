// The Worker entry point: the HTTP app, the cron that keeps Stream links up, and the Durable
// Object classes (one inbox and one Stream link per app).
import { loadConfig } from "./config/load";
import { app } from "./http/app";
import { log } from "./lib/log";

export { Inbox } from "./inbox/inbox";
export { StreamLink } from "./stream/link";

export default {
  fetch: app.fetch,
  /** Every minute: wake the Stream link of each app that has one, so it reconnects with no request coming. */
  async scheduled(_controller, env, ctx) {
    let apps;
    try {
      apps = [...loadConfig(env).apps.values()].filter((a) => a.streamLink);
    } catch {
      return; // the config error is logged by the loader
    }
    for (const a of apps) {
      ctx.waitUntil(
        env.LINKS.getByName(a.name)
          .ensure(a.name)
          .catch((error: unknown) => log("error", "link_wake_failed", { app: a.name, error: String(error) })),
      );
    }
  },
} satisfies ExportedHandler<Env>;
