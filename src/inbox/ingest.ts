// What comes in from DingTalk, in one turn: the signature's use claimed, the event committed once per
// dedup key with its ordering key, counted, and fed to the mode machine; and the offline reply, once
// per conversation per outage, while nobody drains.
import type { Ordering } from "../config/apps";
import { newId } from "../lib/ids";
import type { InsertOutcome } from "./event-store";
import { sweepDueBy } from "./sweep";
import type { Turn } from "./turn";
import type { IngestRequest, IngestResult } from "./types";

export function ingest(t: Turn, req: IngestRequest): IngestResult {
  if (req.robotUrl) t.state.robotUrl = req.robotUrl;
  if (req.signTimestamp !== undefined && req.msgId !== null && !t.parts.signs.claim(req.signTimestamp, req.msgId)) {
    return { stored: false, outcome: "duplicate", offlineReply: null, refused: "sign_reused" };
  }
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
    deadReason: req.deadReason,
  });
  count(t, req, outcome);
  const message = robot && req.deadReason === undefined;
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

function count(t: Turn, req: IngestRequest, outcome: InsertOutcome): void {
  const c = t.state.counters;
  if (outcome === "duplicate") c.duplicates += 1;
  else if (req.kind === "robot") c.callbacksAccepted += 1;
  else c.eventsAccepted += 1;
  if (outcome === "suppressed") c.streamSuppressed += 1;
  if (outcome === "dead") t.deadLettered(1, req.deadReason ?? "invalid");
}

/** The offline text goes to each conversation once per outage. */
function offlineReplyFor(t: Turn, conversationId: string | null): string | null {
  const text = t.tunables.offlineReplyText;
  const since = t.state.machine.outageSince;
  if (!text || since === null || !conversationId) return null;
  return t.parts.offlineReplies.claim(conversationId, since) ? text : null;
}
