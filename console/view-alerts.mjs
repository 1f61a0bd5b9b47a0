// Incidents open now with what each means, settings that fell back to defaults, and the alerts
// raised with their delivery to the alert sink.
import { badge, dim, el, fill, plural, rowsOr } from "./dom.mjs";
import { age, when } from "./format.mjs";
import { INCIDENTS } from "./incidents.mjs";

export function renderAlerts(s) {
  const problems = s.config?.problems ?? [];
  fill(
    "alerts",
    rowsOr(
      "ul",
      { id: "incidents" },
      s.incidents,
      (i) =>
        el(
          "li",
          { "data-incident": i.incident },
          badge(i.incident, "bad"),
          dim(`open for ${age(s.now - i.since)}`),
          INCIDENTS[i.incident] && el("span", { class: "full" }, INCIDENTS[i.incident]),
        ),
      "No open incident.",
      "ok",
    ),
    el("h3", null, "Settings"),
    rowsOr(
      "ul",
      { id: "config-problems" },
      problems,
      (p) => el("li", null, el("code", null, p.setting), el("span", { class: "grow" }, p.problem)),
      "Every setting is well-formed.",
    ),
    el("h3", null, `Alerts (latest ${s.alerts.length})`),
    el(
      "ol",
      { class: "rows", id: "alert-list" },
      s.alerts.map((a) =>
        el(
          "li",
          null,
          dim(when(a.at)),
          el("b", null, a.incident),
          badge(a.phase, a.phase === "open" ? "warn" : "ok"),
          el("span", { "data-delivery": a.delivery }, badge(a.delivery)),
          dim(plural(a.attempts, "attempt"), a.sentAt && `, sent ${when(a.sentAt)}`),
          el("span", { class: "full" }, a.title),
          a.lastError && el("span", { class: "full dim" }, a.lastError),
        ),
      ),
    ),
  );
}
