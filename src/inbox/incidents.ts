// Incidents outside the mode machine (a backlog older than retention, storage filling up, the
// Stream link stopped): each opens once with an alert and resolves once with another.
import type { AlertEffect } from "./mode-machine";

export type SideIncident = "backlog_past_retention" | "storage_high" | "stream_link";

/** When each open incident began. */
export type OpenIncidents = Partial<Record<SideIncident, number>>;

export interface Notice {
  title: string;
  text: string;
}

/** Opens `incident` unless it is open already; answers the alert to send, if any. */
export function openIncident(open: OpenIncidents, incident: SideIncident, at: number, notice: Notice): AlertEffect[] {
  if (open[incident] !== undefined) return [];
  open[incident] = at;
  return [{ at, incident, phase: "open", ...notice }];
}

/** Resolves `incident` if it is open; answers the alert to send, if any. */
export function resolveIncident(open: OpenIncidents, incident: SideIncident, at: number, notice: Notice): AlertEffect[] {
  if (open[incident] === undefined) return [];
  delete open[incident];
  return [{ at, incident, phase: "resolved", ...notice }];
}
