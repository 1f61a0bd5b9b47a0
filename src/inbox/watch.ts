// What the inbox watches on its own besides the mode machine, each an incident opened once and
// resolved once: a backlog that consumers attached to the inbox are not taking (a gateway alive but
// stuck), the month's DingTalk API calls against the quota, and DingTalk's IP allowlist. They run
// from the alarm and after sends. (Settings that fell back to defaults: Turn.end.)
import { openIncident, resolveIncident } from "../alerts/incidents";
import type { InboxParts, Turn } from "./turn";

/**
 * Consumers are attached, yet the oldest event one could take now has waited past BACKLOG_STALL_MS:
 * the gateway is alive but not draining. Resolved once nothing leasable waits that long.
 */
export function watchBacklog(t: Turn): void {
  const oldest = t.parts.pages.oldestReadyReceivedAt(t.now);
  const stalled = t.state.machine.consumers === "attached" && oldest !== null && t.now - oldest >= t.tunables.backlogStallMs;
  if (stalled) {
    t.raise(
      openIncident(t.state.incidents, "backlog_stalled", t.now, {
        title: "Gateways are attached but the backlog is not draining",
        text:
          `The oldest message a consumer could take now has waited ${Math.round((t.now - oldest) / 1000)} s ` +
          `(BACKLOG_STALL_MS is ${t.tunables.backlogStallMs / 1000} s) while consumers pull or heartbeat: a gateway may be alive ` +
          "but stuck. Check the gateway's logs, and `dtbridge status` for who holds what.",
      }),
    );
  } else {
    t.raise(
      resolveIncident(t.state.incidents, "backlog_stalled", t.now, {
        title: "The backlog drains again",
        text: "Nothing a consumer could take waits past BACKLOG_STALL_MS.",
      }),
    );
  }
}

/** When the backlog check must run next: the moment the oldest leasable event would stall, or soon while stalled. */
export function backlogDeadline(parts: InboxParts, now: number): number | null {
  if (parts.state.incidents.backlog_stalled !== undefined) return now + 30_000;
  if (parts.state.machine.consumers !== "attached") return null;
  const oldest = parts.pages.oldestReadyReceivedAt(now);
  return oldest === null ? null : Math.max(now, oldest + parts.tunables().backlogStallMs);
}

/** The month's API calls against the quota: one alert at 80%, resolved when a new month starts below it. */
export function watchApiQuota(t: Turn): void {
  const usage = t.parts.outbox.apiUsage(t.now);
  const quota = t.tunables.apiMonthlyQuota;
  if (usage.thisMonth >= 0.8 * quota) {
    t.raise(
      openIncident(t.state.incidents, "api_quota", t.now, {
        title: "This month's DingTalk API calls passed 80% of the quota",
        text:
          `${usage.thisMonth} calls this month (${usage.month}, Beijing time) against DINGTALK_API_MONTHLY_QUOTA ${quota}. The robot API ` +
          "fallback for replies draws from it: past the quota DingTalk refuses sends until the month turns. Raise the app's plan, or " +
          "keep replies on session webhooks (reply within their 90 minutes).",
      }),
    );
  } else {
    t.raise(
      resolveIncident(t.state.incidents, "api_quota", t.now, {
        title: "DingTalk API calls are below 80% of the quota",
        text: `${usage.thisMonth} calls this month.`,
      }),
    );
  }
}

/** A refusal by IP allowlist is its own incident, resolved by the next call DingTalk accepts. */
export function watchIpAllowlist(t: Turn): void {
  const refusedAt = t.parts.outbox.ipRefusedAt();
  if (refusedAt !== null) {
    t.raise(
      openIncident(t.state.incidents, "ip_not_allowed", t.now, {
        title: "DingTalk refused the bridge's server IP",
        text: t.parts.outbox.ipRefusalText(),
      }),
    );
  } else {
    t.raise(
      resolveIncident(t.state.incidents, "ip_not_allowed", t.now, {
        title: "DingTalk accepts the bridge's calls again",
        text: "A robot API call went through.",
      }),
    );
  }
}
