// What comes in from DingTalk, in one turn: the signature's use claimed, the event committed once per
// dedup key with its ordering key, counted, and fed to the mode machine; and the offline reply, once
// per conversation per outage, while nobody drains.
import type { Ordering } from "../config/apps";
import { newId } from "../lib/ids";
import { log } from "../lib/log";
import type { InsertOutcome } from "./event-store";
import { keptAside } from "./set-aside";
import type { SignVerdict } from "./sign-uses";
import { sweepDueBy } from "./sweep";
import type { Turn } from "./turn";
import type { IngestRequest, IngestResult } from "./types";

export function ingest(t: Turn, req: IngestRequest): IngestResult {
  if (req.robotUrl) t.state.robotUrl = req.robotUrl;
  const signed = signVerdict(t, req);
  if (signed === "refuse") {
    t.state.counters.signReuseRefused += 1;
    log("warn", "sign_reuse_refused", { app: t.state.app, msgId: req.msgId });
    return { stored: false, outcome: "duplicate", offlineReply: null, refused: "sign_reused" };
  }
  // A reused signature past its 2 s keeps the message aside as a dead letter of its own reason.
  const aside = signed === "keep_aside";
  const deadReason = aside ? "sign_reused" : req.deadReason;
  const deadSource = aside ? "sign_reused" : req.deadSource;
  const robot = req.kind === "robot";
  const outcome = t.parts.events.insert({
    id: newId("evt"),
    kind: req.kind,
    source: req.source,
    dedupKey: req.dedupKey,
    receivedAt: t.now,
    payload: req.payload,
    conversationId: req.conversationId,
    orderingKey: robot ? orderingKey(t.parts.app()?.ordering ?? "conversation", req.conversationId, req.sender ?? null) : null,
    streamMsgId: req.msgId,
    deadReason,
    deadSource,
  });
  count(t, req, outcome, deadReason);
  if (outcome === "dead" && deadSource) keptAside(t, deadSource, req.msgId);
  const message = robot && deadReason === undefined;
  if (message) t.feed({ type: req.source === "stream" ? "stream_message" : "callback", at: t.now });
  const offlineReply = outcome === "ready" && message && req.source === "webhook" ? offlineReplyFor(t, req.conversationId) : null;
  // Every write is due for retention some day: the alarm stays armed for the sweep.
  t.wakeBy(sweepDueBy(t));
  return { stored: outcome !== "duplicate", outcome, offlineReply, refused: null };
}

/**
 * The key that serialises a robot message: its conversation, or its conversation and sender (busy
 * groups where each person's turns are independent); none without a conversation or with ordering off.
 */
export function orderingKey(ordering: Ordering, conversationId: string | null, sender: string | null): string | null {
  if (ordering === "off" || !conversationId) return null;
  if (ordering === "sender" && sender) return `${conversationId}\n${sender}`;
  return conversationId;
}

/** What the signature says of this message, for callbacks over HTTP; null for what carries none. */
function signVerdict(t: Turn, req: IngestRequest): SignVerdict | null {
  if (req.signTimestamp === undefined || req.msgId === null) return null;
  return t.parts.signs.claim(req.signTimestamp, req.msgId, t.now, () => t.parts.events.has(req.dedupKey));
}

function count(t: Turn, req: IngestRequest, outcome: InsertOutcome, deadReason: string | undefined): void {
  const c = t.state.counters;
  if (outcome === "duplicate") c.duplicates += 1;
  else if (req.kind === "robot" && req.source === "stream") c.linkMessagesAccepted += 1;
  else if (req.kind === "robot") c.callbacksAccepted += 1;
  else c.eventsAccepted += 1;
  if (outcome === "suppressed") c.streamSuppressed += 1;
  if (outcome === "dead") t.deadLettered(1, deadReason ?? "invalid");
}

/** The offline text goes to each conversation once per outage. */
function offlineReplyFor(t: Turn, conversationId: string | null): string | null {
  const text = t.tunables.offlineReplyText;
  const since = t.state.machine.outageSince;
  if (!text || since === null || !conversationId) return null;
  return t.parts.offlineReplies.claim(conversationId, since) ? text : null;
}
