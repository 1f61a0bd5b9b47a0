// Recent history: the newest stored events, acked or not, newest first, each with its payload.
import { badge, dim, el, fill } from "./dom.mjs";
import { when } from "./format.mjs";
import { showPayload } from "./payload-viewer.mjs";

const preview = (p) =>
  String(p?.text?.content ?? p?.content?.title ?? p?.msgtype ?? p?.EventType ?? "")
    .trim()
    .slice(0, 140);

export function renderHistory(page) {
  fill(
    "history",
    el(
      "ol",
      { class: "rows", id: "history-list" },
      page.events.map((e, i) =>
        el(
          "li",
          { "data-seq": e.seq },
          el("b", null, `#${e.seq}`),
          dim(when(e.receivedAt)),
          `${e.kind} via ${e.source}`,
          badge(e.state),
          el("span", { class: "grow" }, preview(e.payload)),
          el("button", { type: "button", onclick: () => showPayload(e, page.raws[i]) }, "Payload"),
        ),
      ),
    ),
    el("p", { class: "dim" }, `The newest ${page.events.length} events within retention.`),
  );
}
