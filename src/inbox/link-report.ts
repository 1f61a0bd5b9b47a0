// What the Stream link reports, turned into what the inbox keeps: first-hand evidence for the mode
// machine, its transitions in the status timeline, and its incidents in words an operator can act
// on (it stopped at its reconnect budget, or DingTalk refused the app's credentials), each naming
// the concrete fix. The functions below `reportLink` are pure.
import { type AlertEffect, type OpenIncidents, openIncident, resolveIncident } from "../alerts/incidents";
import type { Transition } from "./mode-machine";
import type { Turn } from "./turn";
import type { LinkEvent } from "./types";

export function reportLink(t: Turn, event: LinkEvent): void {
  if (event.type === "opened" || event.type === "down") t.feed({ type: "link", at: event.at, connected: event.type === "opened" });
  const moved = linkTransition(t.state.link, event);
  if (moved) {
    t.state.link = moved.to;
    t.record([moved]);
  }
  t.raise(linkAlerts(t.state.incidents, event, t.state.robotUrl));
}

/** The link's transition for `event`, from the state it was last reported in; null when nothing moved. */
export function linkTransition(from: string, event: LinkEvent): Transition | null {
  const [to, reason] =
    event.type === "opened"
      ? ["open", "the bridge opened a DingTalk Stream connection"]
      : event.type === "down"
        ? ["backoff", event.error ? `the connection was lost: ${event.error}` : "the connection closed"]
        : event.type === "halted"
          ? [
              "backoff",
              `the reconnect budget is spent (${event.opens} opens in ${event.windowMs / 60_000} min); next try ${new Date(event.until).toISOString()}`,
            ]
          : ["refused", event.error];
  // Every open is worth a line (a reconnect is news); a repeated backoff or refusal is not.
  if (from === to && event.type !== "opened") return null;
  return { at: event.at, subject: "link", from, to, reason };
}

export function linkAlerts(open: OpenIncidents, event: LinkEvent, robotUrl: string | null): AlertEffect[] {
  const url = robotUrl ?? "https://<your-bridge>/dingtalk/<app>/robot";
  switch (event.type) {
    case "halted":
      return openIncident(open, "stream_link", event.at, {
        title: "The bridge's Stream link reached its reconnect budget and is waiting",
        text:
          `The link opened ${event.opens} connections within ${Math.round(event.windowMs / 60_000)} minutes, the most it allows: ` +
          `rapid reconnects are what make DingTalk stop routing. It tries again at ${new Date(event.until).toISOString()}. ` +
          `If messages are not arriving, set the robot's message receive mode to HTTP in the DingTalk console and paste ${url}`,
      });
    case "refused":
      return openIncident(open, "stream_link", event.at, {
        title: "DingTalk refused the app's credentials for the Stream link",
        text:
          `${event.error}. Check the app's Client ID and Client Secret (DINGTALK_CLIENT_ID / DINGTALK_CLIENT_SECRET, or ` +
          `clientId / clientSecret in BRIDGE_APPS). The link tries again at ${new Date(event.retryAt).toISOString()}, every 10 minutes. ` +
          `Meanwhile the robot can deliver over HTTP: set its message receive mode to HTTP and paste ${url}`,
      });
    case "opened":
      return resolveIncident(open, "stream_link", event.at, {
        title: "The bridge's Stream link is connected again",
        text: "The link holds a DingTalk Stream connection and commits every robot message to the inbox.",
      });
    case "down":
      return [];
  }
}
