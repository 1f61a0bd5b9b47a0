// History: stored events as GET events pages them (the filter form above is static in index.html),
// each with its ordering key and what it replays, its payload, and replay for an admin token.
import { replayConversation, replayEvent } from "./actions.mjs";
import { badge, dim, el, fill } from "./dom.mjs";
import { when } from "./format.mjs";
import { PAGE } from "./history-query.mjs";
import { showPayload } from "./payload-viewer.mjs";

const preview = (p) =>
  String(p?.text?.content ?? p?.content?.title ?? p?.msgtype ?? p?.EventType ?? "")
    .trim()
    .slice(0, 140);

const DELIVERED = ["acked", "suppressed"];

function row(e, raw, ctx) {
  const conversation = e.payload?.conversationId;
  return el(
    "li",
    { "data-seq": e.seq, "data-id": e.id, "data-state": e.state, "data-ordering-key": e.orderingKey, "data-replay-of": e.replayOf },
    el("b", null, `#${e.seq}`),
    dim(when(e.receivedAt)),
    `${e.kind} via ${e.source}`,
    badge(e.state),
    e.orderingKey &&
      el("span", { class: "key", title: "ordering key: handed out in order, to one gateway at a time" }, el("code", null, e.orderingKey)),
    e.replayOf && dim("replay of ", el("code", null, e.replayOf)),
    el("span", { class: "grow" }, preview(e.payload)),
    el(
      "span",
      { class: "acts" },
      el("button", { type: "button", onclick: () => showPayload(e, raw) }, "Payload"),
      conversation &&
        conversation !== ctx.query.conversationId &&
        el("button", { type: "button", "data-action": "conversation", onclick: () => ctx.conversation(conversation) }, "Conversation"),
      ctx.admin &&
        el(
          "button",
          {
            type: "button",
            "data-action": "replay",
            disabled: !DELIVERED.includes(e.state),
            title: DELIVERED.includes(e.state) ? null : "only delivered events replay; a dead letter is redriven",
            onclick: () => ctx.act(replayEvent(e)),
          },
          "Replay",
        ),
    ),
  );
}

// ctx: {query, admin, note, act(action), conversation(id), newest(), oldest(), next(page), previous()}
export function renderHistory(page, ctx) {
  const q = ctx.query;
  const seqs = page.events.map((e) => e.seq);
  const button = (text, action, onclick, disabled) => el("button", { type: "button", "data-action": action, onclick, disabled }, text);
  fill(
    "history",
    el(
      "div",
      { class: "bar" },
      button("Newest", "newest", ctx.newest, q.afterSeq == null),
      button("Oldest", "oldest", ctx.oldest, q.afterSeq === 0 && !q.back.length),
      button("‹ Previous", "previous", ctx.previous, !q.back.length),
      button("Next ›", "next", () => ctx.next(page), q.afterSeq == null || !page.events.length),
      ctx.admin &&
        q.conversationId &&
        seqs.length > 0 &&
        button(`Replay this conversation (#${Math.min(...seqs)} to #${Math.max(...seqs)})`, "replay-conversation", () =>
          ctx.act(replayConversation(q.conversationId, Math.min(...seqs), Math.max(...seqs))),
        ),
    ),
    el("p", { class: "dim", role: "status", id: "history-note" }, ctx.note),
    el(
      "ol",
      { class: "rows", id: "history-list" },
      page.events.map((e, i) => row(e, page.raws[i], ctx)),
    ),
    el(
      "p",
      { class: "dim", id: "history-page" },
      q.afterSeq == null
        ? `The newest ${page.events.length} events within retention, newest first.`
        : `${page.events.length} events after #${q.afterSeq}, oldest first${page.events.length === PAGE ? "" : "; the last page for now"}.`,
    ),
  );
}
