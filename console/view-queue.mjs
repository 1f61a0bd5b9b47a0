// The queue: depth and the oldest undelivered age, now and over the samples this page has polled,
// how ordering holds conversations, then retention, storage and the inbox's counters.
import { badge, el, fields, fill, plural, tile } from "./dom.mjs";
import { age, bytes } from "./format.mjs";
import { sparkline } from "./sparkline.mjs";

// The counters Routing does not show, by what each counts. An unknown one shows under its own name.
const COUNTERS = {
  eventsAccepted: "event pushes accepted",
  duplicates: "duplicates (stored once)",
  leased: "leases handed out",
  acked: "acked",
  nacked: "nacked",
  expired: "leases run out",
  deadLettered: "dead-lettered",
  deadLettersDropped: "dead letters dropped (past their cap)",
  streamSuppressed: "skipped: the gateway had them over Stream",
};
const IN_ROUTING = ["callbacksAccepted", "linkMessagesAccepted", "rejected", "signReused", "signReuseRefused"];

export function renderQueue(s, samples) {
  const st = s.storage;
  const counters = Object.entries(s.counters ?? {}).filter(([k, v]) => !IN_ROUTING.includes(k) && typeof v === "number");
  fill(
    "queue",
    el(
      "div",
      { class: "tiles" },
      tile("depth", String(s.depth), el("span", null, ` ${s.ready} ready, ${s.leased} leased`)),
      tile("dead letters", String(s.deadLetters)),
      tile("oldest ready", age(s.oldestReadyAgeMs)),
      tile("oldest undelivered", age(s.oldestUndeliveredAgeMs)),
      tile("ordering", badge(s.ordering ?? "off")),
      tile("keys held", String(s.orderingKeysHeld ?? 0)),
    ),
    sparkline(
      "depth",
      samples.map((p) => ({ t: p.t, v: p.depth })),
      String,
    ),
    sparkline(
      "oldest undelivered age",
      samples.map((p) => ({ t: p.t, v: p.oldestMs })),
      age,
    ),
    el("p", { class: "dim" }, `${plural(samples.length, "sample")} over ${age(samples.at(-1).t - samples[0].t)}, since this page opened.`),
    fields([
      ["retention", `${age(s.retention.retentionMs)}${s.retention.pastRetention ? ": a backlog is older!" : ""}`],
      ["storage", `${bytes(st.bytes)} (alert at ${bytes(st.alertAtBytes)}, limit ${bytes(st.limitBytes)})`],
      ["next alarm", s.nextAlarmAt ? `in ${age(s.nextAlarmAt - s.now)}` : "none"],
    ]),
    el("h3", null, "Counters"),
    fields(counters.map(([k, v]) => [COUNTERS[k] ?? k, String(v), k])),
  );
}
