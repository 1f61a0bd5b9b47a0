// The operator's actions, each as what to ask first, what to call, and what to say it did. main.mjs
// runs them (confirm, call, note in the panel, refresh); nothing changes without a yes.
import { plural } from "./dom.mjs";

const quote = (text) => `"${text}"`;

export function redrive(ids, total) {
  return {
    panel: "dead-letters",
    ask: `Redrive ${ids ? "" : "all "}${plural(ids ? ids.length : total, "dead letter")} back into the queue?`,
    path: "dead-letters/redrive",
    body: ids ? { ids } : {},
    said: (d) => `Redrove ${d.redriven}`,
  };
}

export function purge(ids, total) {
  return {
    panel: "dead-letters",
    ask: `Delete ${ids ? "" : "all "}${plural(ids ? ids.length : total, "dead letter")} for good? This cannot be undone.`,
    path: "dead-letters/purge",
    body: ids ? { ids } : { all: true },
    said: (d) => `Purged ${d.purged}`,
  };
}

const replayed = (d) =>
  `Replayed ${plural(d.replayed, "event")} as ${d.replayed === 1 ? "a new delivery" : "new deliveries"}` +
  (d.skipped ? ` (${d.skipped} skipped: not delivered yet, or dead letters to redrive)` : "") +
  (d.nextFromSeq == null ? "" : `; more matched than one replay takes: replay again from #${d.nextFromSeq}`);

export function replayEvent(e) {
  return {
    panel: "history",
    ask: `Replay event #${e.seq} as a new delivery? The gateways get it again, with a fresh attempt count.`,
    path: "events/replay",
    body: { ids: [e.id] },
    said: replayed,
  };
}

// The conversation's delivered events from fromSeq to toSeq, both included.
export function replayConversation(conversationId, fromSeq, toSeq) {
  return {
    panel: "history",
    ask:
      `Replay the delivered events of conversation ${quote(conversationId)} from #${fromSeq} to #${toSeq} as new deliveries? ` +
      "The gateways get them again, in order; events not delivered yet are skipped.",
    path: "events/replay",
    body: { fromSeq, toSeq, conversationId },
    said: replayed,
  };
}

export function cancelSend(key) {
  return {
    panel: "outbox",
    ask: `Cancel the queued send ${quote(key)}? It will never be sent, and its key answers send_cancelled.`,
    path: "outbox/cancel",
    body: { keys: [key] },
    said: (d) => (d.cancelled.length ? `Cancelled ${quote(key)}` : `Not cancelled: ${quote(key)} was no longer queued`),
  };
}
