// GET /health: for load balancers, uptime checks and `dtbridge serve`'s start. It answers 200 while
// any app can take messages, 503 only when none can, with each app's state: its configuration, its
// inbox reached, its Stream link. What it learns is kept for a few seconds per isolate, so a load
// balancer's checks cost no call to every app's objects each time.
import { Hono } from "hono/tiny";
import { type BridgeConfig, loadConfig } from "../../config/load";
import { log } from "../../lib/log";
import { wakeLink } from "../../stream/link-wake";
import type { BridgeEnv } from "../context";

export const healthRoutes = new Hono<BridgeEnv>();

const CALL_TIMEOUT_MS = 5_000;
const FRESH_MS = 10_000;

type AppHealth = { config: "ok" | "broken"; inbox?: "ok" | "unreachable"; link?: string };
interface Snapshot {
  at: number;
  ok: boolean;
  apps: Record<string, AppHealth>;
  settingsFellBack: number;
}

/** The last look, per configuration (one per isolate in production; tests pass others). */
const looks = new WeakMap<BridgeConfig, { last: Snapshot | null; refreshing: Promise<Snapshot> | null }>();

healthRoutes.get("/health", async (c) => {
  let config: BridgeConfig;
  try {
    config = loadConfig(c.env);
  } catch {
    return c.json({ ok: false, checks: { config: "failed" } }, 503, { "cache-control": "no-store" });
  }
  // A bridge with no cron (dtbridge serve) starts its links from the first health check.
  for (const app of config.apps.values()) wakeLink(c.env, c.executionCtx, app);
  const kept = looks.get(config) ?? { last: null, refreshing: null };
  looks.set(config, kept);
  const snapshot = kept.last && Date.now() - kept.last.at < FRESH_MS ? kept.last : await refresh(kept, c.env, config);
  const { ok, apps, settingsFellBack } = snapshot;
  return c.json({ ok, apps, settingsFellBack }, ok ? 200 : 503, { "cache-control": "no-store" });
});

/** One look at every app at a time, shared by the checks that arrive meanwhile. */
function refresh(kept: { last: Snapshot | null; refreshing: Promise<Snapshot> | null }, env: Env, config: BridgeConfig): Promise<Snapshot> {
  kept.refreshing ??= look(env, config)
    .then((snapshot) => {
      kept.last = snapshot;
      return snapshot;
    })
    .finally(() => {
      kept.refreshing = null;
    });
  return kept.refreshing;
}

async function look(env: Env, config: BridgeConfig): Promise<Snapshot> {
  const apps: Record<string, AppHealth> = {};
  for (const name of config.brokenApps.keys()) if (name !== "*") apps[name] = { config: "broken" };
  await Promise.all(
    [...config.apps.values()].map(async (app) => {
      const [inbox, link] = await Promise.all([
        reach(app.name, "inbox", () => env.INBOX.getByName(app.name).health()),
        app.streamLink ? reach(app.name, "link", async () => (await env.LINKS.getByName(app.name).status()).state) : Promise.resolve(null),
      ]);
      apps[app.name] = {
        config: "ok",
        inbox: inbox === null ? "unreachable" : "ok",
        ...(app.streamLink ? { link: link ?? "unreachable" } : {}),
      };
    }),
  );
  const ok = Object.values(apps).some((a) => a.config === "ok" && a.inbox === "ok");
  return { at: Date.now(), ok, apps, settingsFellBack: config.problems.length };
}

async function reach<T>(app: string, what: string, call: () => Promise<T>): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("timed out")), CALL_TIMEOUT_MS);
    });
    return await Promise.race([call(), timeout]);
  } catch (error) {
    log("error", `health_${what}_unreachable`, { app, error: error instanceof Error ? error.message : String(error) });
    return null;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
