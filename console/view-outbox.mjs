// The outbox: sends through the bridge (POST /v1/{app}/send) by fate, as GET outbox lists them (the
// state picker is static in index.html); queued ones can be cancelled by an admin token. Also the
// month's DingTalk API calls against the quota.
import { cancelSend } from "./actions.mjs";
import { badge, dim, el, fields, fill, plural } from "./dom.mjs";
import { age, when } from "./format.mjs";

function usage(api) {
  if (!api) return null;
  const share = api.monthlyQuota ? Math.round((api.thisMonth / api.monthlyQuota) * 100) : 0;
  return [
    el("meter", { min: 0, max: api.monthlyQuota, value: api.thisMonth, high: api.monthlyQuota * 0.8, optimum: 0 }),
    ` ${api.thisMonth} of ${api.monthlyQuota} in ${api.month} (${share}%); ${api.thisMinute} this minute, ${api.previousMinute} the one before`,
  ];
}

function row(r, ctx) {
  return el(
    "li",
    { "data-key": r.key, "data-state": r.state },
    el("code", { class: "grow" }, r.key),
    badge(r.state),
    dim(`${r.via ?? "not sent"}, ${plural(r.attempts, "attempt")}, created ${when(r.createdAt)}`),
    r.sentAt && dim(`sent ${when(r.sentAt)}`),
    r.retryAt && dim(`retry ${when(r.retryAt)}`),
    ctx.admin &&
      r.state === "queued" &&
      el("button", { type: "button", class: "purge", "data-action": "cancel", onclick: () => ctx.act(cancelSend(r.key)) }, "Cancel"),
    (r.dingtalkCode || r.lastError) &&
      el("span", { class: "bad full" }, r.dingtalkCode ? `${r.dingtalkCode}: ${r.dingtalkMessage}` : r.lastError),
  );
}

// sends: GET outbox's list, or null when this token may not read it (status's recent sends then).
export function renderOutbox(s, sends, ctx) {
  const o = s.outbox;
  fill(
    "outbox",
    fields([
      ["queued", String(o.queued), "outbox queued"],
      ["oldest queued", age(o.oldestQueuedAgeMs)],
      ["resent after a crash", String(o.resentAfterCrash ?? 0), "resentAfterCrash"],
      ["DingTalk API calls", usage(s.dingtalkApi), "dingtalkApi"],
    ]),
    el("p", { class: "dim", role: "status", id: "outbox-note" }, ctx.note),
    el(
      "ol",
      { class: "rows", id: "sends" },
      (sends ?? o.recent).map((r) => row(r, ctx)),
    ),
    !sends && dim("The latest sends from status: listing by fate needs the read scope."),
  );
}
