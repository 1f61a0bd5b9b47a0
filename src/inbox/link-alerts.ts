// The Stream link's incidents, in words an operator can act on: it stopped at its reconnect budget,
// or DingTalk refused the app's credentials. Each names the concrete fix.
import { type OpenIncidents, openIncident, resolveIncident } from "./incidents";
import type { AlertEffect } from "./mode-machine";
import type { LinkEvent } from "./types";

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
