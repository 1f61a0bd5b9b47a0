// Dead letters: events out of attempts, to open, and for an admin token to select and redrive or
// purge (main.mjs asks first).
import { purge, redrive } from "./actions.mjs";
import { dim, el, fill, plural } from "./dom.mjs";
import { when } from "./format.mjs";
import { showPayload } from "./payload-viewer.mjs";

const selected = new Set();
let last;

// ctx: {admin, note, act(action)}
export function renderDeadLetters(s, page, ctx) {
  last = [s, page, ctx];
  for (const id of selected) if (!page.events.some((e) => e.id === id)) selected.delete(id);
  const ids = [...selected];
  const button = (text, make, targets, disabled) =>
    el(
      "button",
      {
        type: "button",
        class: make === redrive ? "redrive" : "purge",
        disabled,
        "data-action": `${make === redrive ? "redrive" : "purge"}-${targets ? "selected" : "all"}`,
        onclick: () => ctx.act(make(targets, s.deadLetters)),
      },
      text,
    );
  const pick = (e) =>
    el("input", {
      type: "checkbox",
      checked: selected.has(e.id),
      onchange: (ev) => {
        selected[ev.target.checked ? "add" : "delete"](e.id);
        renderDeadLetters(...last);
      },
    });
  fill(
    "dead-letters",
    ctx.admin &&
      el(
        "div",
        { class: "bar" },
        button(`Redrive selected (${ids.length})`, redrive, ids, !ids.length),
        button("Redrive all", redrive, null, !s.deadLetters),
        button(`Purge selected (${ids.length})`, purge, ids, !ids.length),
        button("Purge all", purge, null, !s.deadLetters),
      ),
    el("p", { class: "dim", role: "status", id: "dead-letters-note" }, ctx.note),
    el(
      "ul",
      { class: "rows", id: "dead-letter-list" },
      page.events.map((e, i) =>
        el(
          "li",
          { "data-seq": e.seq, "data-ordering-key": e.orderingKey, "data-replay-of": e.replayOf },
          el("label", null, ctx.admin && pick(e), `#${e.seq}`),
          dim(when(e.receivedAt)),
          `${e.kind}, ${plural(e.attempt, "attempt")}`,
          e.orderingKey && el("span", { class: "key" }, el("code", null, e.orderingKey)),
          e.replayOf && dim("replay of ", el("code", null, e.replayOf)),
          el("span", { class: "grow" }, e.lastReason ?? "no reason given"),
          el("button", { type: "button", onclick: () => showPayload(e, page.raws[i]) }, "Payload"),
        ),
      ),
    ),
    s.deadLetters > page.events.length && dim(`Showing the oldest ${page.events.length} of ${s.deadLetters}.`),
  );
}
