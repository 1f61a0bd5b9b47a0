// Callbacks refused at the door are nothing stored, but they are never silent: each is counted by
// its code and logged (app and code, never the body), and a run of them (CALLBACK_REJECTIONS_ALERT
// within CALLBACK_REJECTIONS_WINDOW_MS) is an incident that names the likely cause, resolved once a
// window passes without one.
import { openIncident, resolveIncident } from "../alerts/incidents";
import { log } from "../lib/log";
import type { Turn } from "./turn";

const KEPT = 100;

/** What a run of refusals with this code most likely means, and what to do. */
const LIKELY: Record<string, string> = {
  bad_signature:
    "the signature does not match the app's Client Secret: the secret was rotated in the DingTalk console and not in the bridge (DINGTALK_CLIENT_SECRET or clientSecret), or another app's robot points at this URL",
  stale_timestamp: "the timestamps are far from the bridge's clock: a clock off by more than the window, or old requests replayed",
  bad_timestamp: "the timestamp header is not milliseconds: not DingTalk, or a proxy that rewrites headers",
  missing_signature: "requests without DingTalk's timestamp and sign headers: not DingTalk, or a proxy that drops headers",
  sign_reused: "signatures reused past their limit: a captured pair replayed; rotate the app's Client Secret",
  bad_event: "event pushes that do not decrypt for this app: check the event AES key and the owner key",
};

export function rejected(t: Turn, code: string): void {
  const { state } = t;
  state.counters.rejected[code] = (state.counters.rejected[code] ?? 0) + 1;
  log("warn", "callback_rejected", { app: state.app, code });
  const since = t.now - t.tunables.rejectionsWindowMs;
  state.rejections = [...state.rejections.filter((at) => at > since), t.now].slice(-KEPT);
  if (state.rejections.length >= t.tunables.rejectionsAlert) {
    t.raise(
      openIncident(state.incidents, "callbacks_rejected", t.now, {
        title: "DingTalk callbacks are being refused",
        text:
          `${state.rejections.length} callbacks were refused within ${t.tunables.rejectionsWindowMs / 1000} s (the latest: ${code}). ` +
          `Likely: ${LIKELY[code] ?? "requests that are not valid DingTalk callbacks"}. Status counts every refusal by its code (counters.rejected).`,
      }),
    );
  }
  t.wakeBy(rejectionsDeadline(t));
}

/** A window without a refusal resolves the incident. */
export function rejectionsQuiet(t: Turn): void {
  const last = t.state.rejections.at(-1);
  if (last !== undefined && t.now - last < t.tunables.rejectionsWindowMs) return;
  t.raise(
    resolveIncident(t.state.incidents, "callbacks_rejected", t.now, {
      title: "DingTalk callbacks are accepted again",
      text: `No callback was refused for ${t.tunables.rejectionsWindowMs / 1000} s.`,
    }),
  );
}

/** When the incident could resolve: a window after the last refusal, while it is open. */
export function rejectionsDeadline(t: { state: Turn["state"]; tunables: Turn["tunables"] }): number | null {
  const last = t.state.rejections.at(-1);
  return t.state.incidents.callbacks_rejected === undefined || last === undefined ? null : last + t.tunables.rejectionsWindowMs;
}
