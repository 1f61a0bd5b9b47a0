// Which path DingTalk delivers robot messages on, whether anyone drains, and whether Stream routing
// looks stuck: a pure state machine. State, input and time in; new state, transitions and alerts
// out. The inbox persists what comes out and arms its alarm for `nextDeadline`.

import type { AlertEffect } from "../alerts/incidents";

export type Mode = "unknown" | "webhook" | "stream";
export type ConsumerState = "attached" | "detached";
export type RoutingState = "ok" | "suspected_stuck";
export type Subject = "mode" | "consumers" | "routing";

export interface Thresholds {
  webhookSilenceMs: number;
  consumerSilenceMs: number;
  stallRestarts: number;
  stallWindowMs: number;
  stallSilenceMs: number;
}

export interface ModeState {
  mode: Mode;
  consumers: ConsumerState;
  routing: RoutingState;
  lastCallbackAt: number | null;
  lastStreamMessageAt: number | null;
  lastConsumerSeenAt: number | null;
  streamConnected: boolean | null;
  /** Stream reconnect times the gateway reported, ascending, pruned to what a stall check needs. */
  reconnects: number[];
  /** Set while the consumers-detached incident is open: callbacks arrived with nobody draining. */
  outageSince: number | null;
  /** Set while the stuck-routing incident is open. */
  stallSince: number | null;
}

export interface StreamReport {
  connected: boolean;
  lastMessageAt?: number | undefined;
  reconnects?: readonly number[] | undefined;
}

export type MachineInput =
  | { type: "callback"; at: number }
  /** A robot message that the bridge's own Stream link received: first-hand Stream evidence. */
  | { type: "stream_message"; at: number }
  /** The bridge's own Stream link opened a connection, or has none open any more. */
  | { type: "link"; at: number; connected: boolean }
  | { type: "pull"; at: number; consumer: string }
  /** A consumer is waiting in a long poll right now: it counts as seen. */
  | { type: "waiting"; at: number }
  | { type: "heartbeat"; at: number; consumer: string; stream?: StreamReport | undefined }
  | { type: "tick"; at: number };

export interface Transition {
  at: number;
  /** What moved: one of the machine's facts, the bridge's Stream link, or an operator's replay (recorded by the inbox). */
  subject: Subject | "link" | "replay";
  from: string;
  to: string;
  reason: string;
}

export interface Step {
  state: ModeState;
  transitions: Transition[];
  alerts: AlertEffect[];
}

export const initialModeState: ModeState = {
  mode: "unknown",
  consumers: "detached",
  routing: "ok",
  lastCallbackAt: null,
  lastStreamMessageAt: null,
  lastConsumerSeenAt: null,
  streamConnected: null,
  reconnects: [],
  outageSince: null,
  stallSince: null,
};

const MAX_RECONNECTS_KEPT = 100;
/** In stream mode the consumer still pulls now and then, in case DingTalk flips back unannounced. */
const STREAM_SAFETY_POLL_MS = 30_000;

/**
 * One input through the machine. `robotUrl` is this bridge's robot URL for the runbook in alerts
 * (PUBLIC_URL, or the origin the bridge was reached at), null while unknown.
 */
export function step(prev: ModeState, input: MachineInput, t: Thresholds, robotUrl: string | null = null): Step {
  const out: Step = { state: { ...prev }, transitions: [], alerts: [] };
  const s = out.state;
  const at = input.at;

  switch (input.type) {
    case "callback":
      s.lastCallbackAt = at;
      if (s.mode !== "webhook") {
        move(out, "mode", "webhook", at, "a verified robot callback arrived: DingTalk is delivering over HTTP");
      }
      clearStall(out, at, "a robot callback arrived");
      messageWaits(out, prev, at);
      break;
    case "stream_message":
      if (s.lastStreamMessageAt === null || at > s.lastStreamMessageAt) s.lastStreamMessageAt = at;
      clearStall(out, at, "a Stream message reached the bridge's link");
      messageWaits(out, prev, at);
      break;
    case "link":
      takeStreamReport(out, { connected: input.connected, reconnects: input.connected ? [at] : [] }, at);
      break;
    case "pull":
      seeConsumer(out, at, `consumer ${input.consumer} pulled`);
      break;
    case "waiting":
      seeConsumer(out, at, "a consumer is waiting in a long poll");
      break;
    case "heartbeat":
      seeConsumer(out, at, `consumer ${input.consumer} sent a heartbeat`);
      if (input.stream) takeStreamReport(out, input.stream, at);
      break;
    case "tick":
      break;
  }
  applyTimeRules(out, at, t, robotUrl);
  return out;
}

/** A message arrived: with nobody draining, that opens the consumers-detached incident. */
function messageWaits(out: Step, prev: ModeState, at: number): void {
  const s = out.state;
  if (s.consumers !== "detached" || s.outageSince !== null) return;
  s.outageSince = at;
  out.alerts.push({
    at,
    incident: "consumers_detached",
    phase: "open",
    title: "DingTalk messages are waiting: no gateway is draining the bridge",
    text: consumersDownText(prev.lastConsumerSeenAt, at),
  });
}

/** Time-driven rules, applied after every input and on every alarm. */
function applyTimeRules(out: Step, at: number, t: Thresholds, robotUrl: string | null): void {
  const s = out.state;
  if (s.mode !== "stream" && streamEvidence(s) && webhookSilent(s, at, t)) {
    const reason =
      s.lastCallbackAt === null
        ? "the gateway reports Stream messages and no robot callback has ever arrived"
        : `the gateway reports Stream messages and no robot callback came for ${seconds(at - s.lastCallbackAt)}`;
    move(out, "mode", "stream", at, reason);
  }
  if (s.consumers === "attached" && s.lastConsumerSeenAt !== null && at - s.lastConsumerSeenAt >= t.consumerSilenceMs) {
    move(out, "consumers", "detached", at, `no consumer pulled or sent a heartbeat for ${seconds(at - s.lastConsumerSeenAt)}`);
  }
  const burst = burstEnd(s.reconnects, t);
  if (s.routing === "ok" && stallPossible(s, burst) && at - burst! >= t.stallSilenceMs) {
    s.stallSince = at;
    move(
      out,
      "routing",
      "suspected_stuck",
      at,
      `${t.stallRestarts} Stream reconnects within ${seconds(t.stallWindowMs)}, then ${seconds(at - burst!)} without a message on a connected stream`,
    );
    out.alerts.push({
      at,
      incident: "stuck_routing",
      phase: "open",
      title: "Suspected stuck DingTalk Stream routing",
      text: stuckRunbook(robotUrl),
    });
  }
  s.reconnects = s.reconnects.filter((r) => r >= at - t.stallWindowMs - t.stallSilenceMs).slice(-MAX_RECONNECTS_KEPT);
}

/** The earliest moment at which `applyTimeRules` would change something with no input arriving. */
export function nextDeadline(s: ModeState, t: Thresholds): number | null {
  const times: number[] = [];
  if (s.mode !== "stream" && streamEvidence(s) && s.lastCallbackAt !== null) {
    times.push(s.lastCallbackAt + t.webhookSilenceMs);
  }
  if (s.consumers === "attached" && s.lastConsumerSeenAt !== null) {
    times.push(s.lastConsumerSeenAt + t.consumerSilenceMs);
  }
  const burst = burstEnd(s.reconnects, t);
  if (s.routing === "ok" && stallPossible(s, burst)) times.push(burst! + t.stallSilenceMs);
  return times.length ? Math.min(...times) : null;
}

/**
 * How long a consumer may pause between pulls. In stream mode a gateway that holds Stream itself
 * only needs a safety poll; when the bridge's own link holds Stream, everything comes through the
 * inbox, so consumers long-poll without pause in every mode.
 */
export function pollHintMs(s: ModeState, t: Thresholds, linkOn = false): number {
  if (s.mode !== "stream" || linkOn) return 0;
  return Math.max(1000, Math.min(STREAM_SAFETY_POLL_MS, Math.floor(t.consumerSilenceMs / 2)));
}

function seeConsumer(out: Step, at: number, reason: string): void {
  const s = out.state;
  s.lastConsumerSeenAt = at;
  if (s.consumers === "attached") return;
  move(out, "consumers", "attached", at, reason);
  if (s.outageSince !== null) {
    out.alerts.push({
      at,
      incident: "consumers_detached",
      phase: "resolved",
      title: "A gateway is draining the bridge again",
      text: `${reason}; messages held since ${new Date(s.outageSince).toISOString()} now drain in order.`,
    });
    s.outageSince = null;
  }
}

function takeStreamReport(out: Step, report: StreamReport, at: number): void {
  const s = out.state;
  s.streamConnected = report.connected;
  // The gateway's clock may run ahead of ours; a report never moves time past now.
  const last = report.lastMessageAt === undefined ? null : Math.min(report.lastMessageAt, at);
  if (last !== null && (s.lastStreamMessageAt === null || last > s.lastStreamMessageAt)) {
    s.lastStreamMessageAt = last;
    clearStall(out, at, "a Stream message arrived");
  }
  if (report.reconnects?.length) {
    const merged = new Set([...s.reconnects, ...report.reconnects.map((r) => Math.min(r, at))]);
    s.reconnects = [...merged].sort((a, b) => a - b);
  }
}

function clearStall(out: Step, at: number, reason: string): void {
  const s = out.state;
  if (s.routing !== "suspected_stuck") return;
  move(out, "routing", "ok", at, reason);
  out.alerts.push({
    at,
    incident: "stuck_routing",
    phase: "resolved",
    title: "DingTalk routing recovered",
    text: `${reason} after ${seconds(at - (s.stallSince ?? at))} of suspected stuck routing.`,
  });
  s.stallSince = null;
  s.reconnects = [];
}

function move(out: Step, subject: Subject, to: string, at: number, reason: string): void {
  const s = out.state;
  const from = subject === "mode" ? s.mode : subject === "consumers" ? s.consumers : s.routing;
  if (from === to) return;
  if (subject === "mode") s.mode = to as Mode;
  else if (subject === "consumers") s.consumers = to as ConsumerState;
  else s.routing = to as RoutingState;
  out.transitions.push({ at, subject, from, to, reason });
}

function streamEvidence(s: ModeState): boolean {
  return s.lastStreamMessageAt !== null && (s.lastCallbackAt === null || s.lastStreamMessageAt > s.lastCallbackAt);
}

function webhookSilent(s: ModeState, at: number, t: Thresholds): boolean {
  return s.lastCallbackAt === null || at - s.lastCallbackAt >= t.webhookSilenceMs;
}

/** The latest reconnect that closes a burst of `stallRestarts` reconnects within `stallWindowMs`. */
export function burstEnd(reconnects: readonly number[], t: Thresholds): number | null {
  for (let i = reconnects.length - 1; i >= t.stallRestarts - 1; i--) {
    if (reconnects[i]! - reconnects[i - t.stallRestarts + 1]! <= t.stallWindowMs) return reconnects[i]!;
  }
  return null;
}

/** In stream mode, connected, a burst of reconnects, and no message on either path since it. */
function stallPossible(s: ModeState, burst: number | null): boolean {
  if (burst === null || s.mode !== "stream" || s.streamConnected !== true) return false;
  const lastMessage = Math.max(s.lastStreamMessageAt ?? -Infinity, s.lastCallbackAt ?? -Infinity);
  return lastMessage < burst;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

function consumersDownText(lastSeen: number | null, at: number): string {
  const since = lastSeen === null ? "no consumer has connected yet" : `the last consumer was seen ${seconds(at - lastSeen)} ago`;
  return `A robot callback arrived and ${since}. The bridge keeps every message; they drain in order when the gateway pulls again.`;
}

function stuckRunbook(robotUrl: string | null): string {
  return [
    "The Stream connection (the bridge's own link, or the gateway's) reconnected repeatedly and is now",
    "connected but silent. DingTalk may have stopped routing robot messages to any Stream connection",
    "(this can last 40 minutes or more). Do not restart the gateway again.",
    "",
    "Runbook: in the DingTalk developer console, open the app's robot, set the message receive mode to",
    `HTTP and paste this bridge's robot URL: ${robotUrl ?? "https://<your-bridge>/dingtalk/<app>/robot"}`,
    "then publish. The gateway keeps draining the bridge; no message is lost. Switch back to Stream once it is stable.",
  ].join("\n");
}
