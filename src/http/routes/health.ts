// GET /health: for load balancers and uptime checks. It checks the configuration and reaches every
// app's inbox, answering 200 or 503 with which part failed, and needs no token, so it names no app
// and counts nothing; the logs say which app failed.
import { Hono } from "hono/tiny";
import { type BridgeConfig, loadConfig } from "../../config/load";
import { log } from "../../lib/log";
import { wakeLink } from "../../stream/link-wake";
import type { BridgeEnv } from "../context";

export const healthRoutes = new Hono<BridgeEnv>();

const INBOX_TIMEOUT_MS = 5_000;

healthRoutes.get("/health", async (c) => {
  let config: BridgeConfig;
  try {
    config = loadConfig(c.env);
  } catch {
    return c.json({ ok: false, checks: { config: "failed", inboxes: "not checked" } }, 503);
  }
  // A bridge with no cron (dtbridge serve) starts its links from the first health check.
  for (const app of config.apps.values()) wakeLink(c.env, c.executionCtx, app);
  const names = [...config.apps.keys()];
  const reached = await Promise.all(names.map((name) => reach(c.env, name)));
  const checks = {
    config: config.brokenApps.size === 0 ? "ok" : "failed",
    inboxes: reached.every(Boolean) ? "ok" : "failed",
  };
  const ok = checks.config === "ok" && checks.inboxes === "ok";
  return c.json({ ok, checks }, ok ? 200 : 503, { "cache-control": "no-store" });
});

async function reach(env: Env, app: string): Promise<boolean> {
  try {
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timed out")), INBOX_TIMEOUT_MS));
    await Promise.race([env.INBOX.getByName(app).health(), timeout]);
    return true;
  } catch (error) {
    log("error", "health_inbox_unreachable", { app, error: error instanceof Error ? error.message : String(error) });
    return false;
  }
}
