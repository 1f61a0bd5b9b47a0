// The alert vocabulary: every incident the bridge can raise, and the alert that opens or resolves
// one. Incidents are opened once and resolved once, each with one alert, so an operator hears of an
// incident twice however long it lasts.

/** Every incident an alert can be about, so a misspelt one does not compile. */
export type Incident =
  /** Messages arrived with nobody draining (the mode machine's). */
  | "consumers_detached"
  /** Stream reconnected repeatedly, then went silent (the mode machine's). */
  | "stuck_routing"
  | "backlog_past_retention"
  | "storage_high"
  | "stream_link"
  /** Signed callbacks kept aside as dead letters: their signature had already carried another message. */
  | "sign_reused"
  /** Dead letters of one source past its cap: the oldest were dropped. */
  | "dead_letters_dropped"
  /** Settings that were malformed and fell back to their defaults. */
  | "config"
  /** Consumers are attached, yet the oldest event they could take waits longer than BACKLOG_STALL_MS. */
  | "backlog_stalled"
  /** The month's DingTalk API calls passed 80% of DINGTALK_API_MONTHLY_QUOTA. */
  | "api_quota"
  /** DingTalk refused a call from this server's egress IP (the app's IP allowlist). */
  | "ip_not_allowed"
  /** A run of callbacks refused at the door: a rotated secret, a wrong URL, or someone probing. */
  | "callbacks_rejected"
  /** A send the outbox gave up on: a one-off, never resolved. */
  | "send_failed";

/** Incidents kept outside the mode machine: opened and resolved by the inbox's own checks. */
export type SideIncident = Exclude<Incident, "consumers_detached" | "stuck_routing" | "send_failed">;

export interface AlertEffect {
  at: number;
  incident: Incident;
  phase: "open" | "resolved";
  title: string;
  text: string;
}

/** When each open side incident began. */
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

/** What the outbox reports when it gives a send up after a day of trying. */
export interface SendGivenUp {
  at: number;
  key: string;
  target: string;
  attempts: number;
  reason: string;
}

export function sendFailedAlert(s: SendGivenUp): AlertEffect {
  return {
    at: s.at,
    incident: "send_failed",
    phase: "open",
    title: "A message could not be sent to DingTalk",
    text: `The send with key "${s.key}" (${s.target}) was tried ${s.attempts} times over 24 hours and given up: ${s.reason}.`,
  };
}
