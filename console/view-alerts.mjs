// Incidents open now, and the alerts raised for them with their delivery to the alert sink.
import { badge, dim, el, fill, plural } from "./dom.mjs";
import { age, when } from "./format.mjs";

export function renderAlerts(s) {
  fill(
    "alerts",
    s.incidents.length
      ? el(
          "ul",
          { class: "rows", id: "incidents" },
          s.incidents.map((i) => el("li", null, badge(i.incident, "bad"), `open for ${age(s.now - i.since)}`)),
        )
      : el("p", { class: "ok" }, "No open incident."),
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
