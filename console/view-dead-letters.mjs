// Dead letters: events out of attempts, to open, select, and redrive or purge (main.mjs asks first).
import { dim, el, fill, plural } from "./dom.mjs";
import { when } from "./format.mjs";
import { showPayload } from "./payload-viewer.mjs";

const selected = new Set();
let last;

export function renderDeadLetters(s, page, act, note) {
  last = [s, page, act, note];
  for (const id of selected) if (!page.events.some((e) => e.id === id)) selected.delete(id);
  const ids = [...selected];
  const button = (text, action, targets, disabled) =>
    el(
      "button",
      {
        type: "button",
        class: action,
        disabled,
        "data-action": `${action}-${targets ? "selected" : "all"}`,
        onclick: () => act(action, targets),
      },
      text,
    );
  fill(
    "dead-letters",
    el(
      "div",
      { class: "bar" },
      button(`Redrive selected (${ids.length})`, "redrive", ids, !ids.length),
      button("Redrive all", "redrive", null, !s.deadLetters),
      button(`Purge selected (${ids.length})`, "purge", ids, !ids.length),
      button("Purge all", "purge", null, !s.deadLetters),
    ),
    el("p", { class: "dim", role: "status", id: "dead-letters-note" }, note),
    el(
      "ul",
      { class: "rows", id: "dead-letter-list" },
      page.events.map((e, i) =>
        el(
          "li",
          null,
          el(
            "label",
            null,
            el("input", {
              type: "checkbox",
              checked: selected.has(e.id),
              onchange: (ev) => {
                selected[ev.target.checked ? "add" : "delete"](e.id);
                renderDeadLetters(...last);
              },
            }),
            `#${e.seq}`,
          ),
          dim(when(e.receivedAt)),
          `${e.kind}, ${plural(e.attempt, "attempt")}`,
          el("span", { class: "grow" }, e.lastReason ?? "no reason given"),
          el("button", { type: "button", onclick: () => showPayload(e, page.raws[i]) }, "Payload"),
        ),
      ),
    ),
    s.deadLetters > page.events.length && dim(`Showing the oldest ${page.events.length} of ${s.deadLetters}.`),
  );
}
