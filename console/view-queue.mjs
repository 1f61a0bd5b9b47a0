// The queue: depth and the oldest undelivered age, now and over the samples this page has polled,
// then retention, storage and the inbox's counters.
import { el, fields, fill, plural, tile } from "./dom.mjs";
import { age, bytes } from "./format.mjs";
import { sparkline } from "./sparkline.mjs";

export function renderQueue(s, samples) {
  const st = s.storage;
  fill(
    "queue",
    el(
      "div",
      { class: "tiles" },
      tile("depth", String(s.depth), el("span", null, ` ${s.ready} ready, ${s.leased} leased`)),
      tile("dead letters", String(s.deadLetters)),
      tile("oldest ready", age(s.oldestReadyAgeMs)),
      tile("oldest undelivered", age(s.oldestUndeliveredAgeMs)),
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
    fields(Object.entries(s.counters ?? {}).map(([k, v]) => [k, String(v)])),
  );
}
