// Waking an app's Stream link: the first request that concerns the app starts it, and so do the cron
// (on Cloudflare) and the health check (`dtbridge serve`, which has no cron). Checked at most once a
// minute per isolate, off the request's path: the request never waits for it.
import type { AppConfig } from "../config/apps";
import { log } from "../lib/log";

const WAKE_EVERY_MS = 60_000;
const lastWoken = new Map<string, number>();

export function wakeLink(env: Env, ctx: { waitUntil(promise: Promise<unknown>): void }, app: AppConfig): void {
  if (!app.streamLink) return;
  const now = Date.now();
  if (now - (lastWoken.get(app.name) ?? 0) < WAKE_EVERY_MS) return;
  lastWoken.set(app.name, now);
  ctx.waitUntil(
    ensureLink(env, app.name).then((ok) => {
      if (!ok) lastWoken.delete(app.name);
    }),
  );
}

/** Starts one app's link, or checks it is up; a failure is logged, never thrown. Answers whether it worked. */
export function ensureLink(env: Env, app: string): Promise<boolean> {
  return env.LINKS.getByName(app)
    .ensure()
    .then(
      () => true,
      (error: unknown) => {
        log("error", "link_wake_failed", { app, error: String(error) });
        return false;
      },
    );
}
