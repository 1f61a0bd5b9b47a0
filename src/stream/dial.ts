// Opening the link's connection: within the reconnect budget and backoff (budget.ts), one open at a
// time, never more than two sockets; a ticket from connections/open, then the WebSocket upgrade.
import { loadConfig } from "../config/load";
import { log } from "../lib/log";
import { planOpen, pruneOpens, REFUSED_RETRY_MS, reconnectDelayMs } from "./budget";
import { type DialReason, describe, type LinkCore } from "./link-core";
import { takeSocket } from "./link-sockets";
import { openRequest, readOpenResponse, socketUrl } from "./open-connection";
import { upgrade } from "./socket";

/** One open at a time; `refresh` and `disconnect` open beside a live socket (make before break). */
export function dial(core: LinkCore, reason: DialReason): Promise<void> {
  core.connecting ??= open(core, reason).finally(() => {
    core.connecting = null;
  });
  return core.connecting;
}

async function open(core: LinkCore, reason: DialReason): Promise<void> {
  const now = core.now();
  const beside = reason === "refresh" || reason === "disconnect";
  if (core.live().length && !beside) return;
  if (core.sockets.length >= 2) return; // never more than two
  const app = core.appConfig();
  if (!app) return;
  const s = core.state;
  s.opens = pruneOpens(s.opens, now);
  const plan = planOpen(s, now);
  if (plan.why !== "now") {
    if (!core.live().length && s.phase !== "refused") s.phase = "backoff";
    if (plan.why === "budget") {
      const news = s.retryAt !== plan.at;
      s.retryAt = plan.at;
      // Said once per wait, and only when no socket is up: a refresh that must wait beside a live
      // socket leaves the link connected.
      if (news && !core.live().length) {
        await core.tellInbox({ type: "halted", at: now, until: plan.at, opens: plan.window.max, windowMs: plan.window.windowMs });
      }
    }
    core.save();
    return;
  }
  // The attempt counts before the network is touched: a crash mid-open must not reset the budget.
  s.opens.push(now);
  if (!core.live().length) s.phase = "connecting";
  core.save();
  const { apiBase } = loadConfig(core.env);
  try {
    const res = await fetch(openRequest(apiBase, app.clientId, app.clientSecret), {
      signal: AbortSignal.timeout(core.timing.openTimeoutMs),
    });
    const outcome = await readOpenResponse(res);
    if (!outcome.ok) return outcome.refused ? await refused(core, outcome.error) : failed(core, outcome.error);
    const up = await upgrade(socketUrl(outcome.endpoint, outcome.ticket), core.timing.openTimeoutMs);
    if (typeof up === "string") return failed(core, up);
    up.accept();
    takeSocket(core, up, reason);
  } catch (error) {
    failed(core, `could not reach DingTalk: ${describe(error)}`);
  }
}

function failed(core: LinkCore, error: string): void {
  const now = core.now();
  const s = core.state;
  s.failures += 1;
  s.retryAt = now + reconnectDelayMs(s.failures, core.random);
  s.lastError = error.slice(0, 300);
  if (!core.live().length) s.phase = "backoff";
  core.save();
  log("warn", "link_open_failed", { app: s.app, error: s.lastError, failures: s.failures, retryAt: s.retryAt });
}

async function refused(core: LinkCore, error: string): Promise<void> {
  const now = core.now();
  const s = core.state;
  s.retryAt = now + REFUSED_RETRY_MS;
  s.lastError = error;
  if (!core.live().length) s.phase = "refused";
  core.save();
  log("error", "link_refused", { app: s.app, error });
  await core.tellInbox({ type: "refused", at: now, error, retryAt: s.retryAt });
}
