// The outbox: sends through the bridge (POST /v1/{app}/send), queued for retry or done.
import { badge, dim, el, fields, fill, plural } from "./dom.mjs";
import { age, when } from "./format.mjs";

export function renderOutbox(s) {
  const o = s.outbox;
  fill(
    "outbox",
    fields([
      ["queued", String(o.queued)],
      ["oldest queued", age(o.oldestQueuedAgeMs)],
    ]),
    el(
      "ol",
      { class: "rows", id: "sends" },
      o.recent.map((r) =>
        el(
          "li",
          null,
          el("code", { class: "grow" }, r.key),
          badge(r.state),
          dim(`${r.via ?? "not sent"}, ${plural(r.attempts, "attempt")}, created ${when(r.createdAt)}`),
          r.sentAt && dim(`sent ${when(r.sentAt)}`),
          r.retryAt && dim(`retry ${when(r.retryAt)}`),
          (r.dingtalkCode || r.lastError) &&
            el("span", { class: "bad full" }, r.dingtalkCode ? `${r.dingtalkCode}: ${r.dingtalkMessage}` : r.lastError),
        ),
      ),
    ),
  );
}
