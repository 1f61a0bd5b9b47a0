// Routing: the mode, the bridge's own Stream link, the consumers, and the timeline of their
// transitions (the link's included), newest first.
import { badge, dim, el, fields, fill, tile } from "./dom.mjs";
import { age, when } from "./format.mjs";

export function renderRouting(s) {
  const link = s.link ?? { state: "off", opens: [] };
  const on = link.state !== "off";
  const timeline = [...s.transitions].sort((a, b) => b.at - a.at);
  fill(
    "routing",
    el(
      "div",
      { class: "tiles" },
      tile("mode", badge(s.mode), dim(` poll ${s.pollHintMs} ms`)),
      tile("link", badge(link.state)),
      tile("consumers", badge(s.consumers.state)),
      tile("routing", badge(s.routing)),
    ),
    fields([
      ["last callback", when(s.lastCallbackAt, s.now)],
      ["last pull", when(s.lastPullAt, s.now)],
      ["last Stream message", when(s.lastStreamMessageAt, s.now)],
      ["gateway's Stream", s.stream.connected == null ? "no report" : s.stream.connected ? "connected" : "disconnected"],
      ["its reconnects", String(s.stream.recentReconnects.length)],
      on && ["link connected", when(link.connectedAt, s.now)],
      on && ["link last frame", when(link.lastFrameAt, s.now)],
      on && ["link opens", String(link.opens.length)],
      link.retryAt && ["link retries", when(link.retryAt)],
      link.lastError && ["link error", el("span", { class: "bad" }, link.lastError)],
    ]),
    el("h3", null, `Consumers (${s.consumers.list.length})`),
    s.consumers.list.length
      ? el(
          "ul",
          { class: "rows" },
          s.consumers.list.map((c) =>
            el(
              "li",
              null,
              el("code", { class: "grow" }, c.id),
              dim(`seen ${age(s.now - c.lastSeenAt)} ago`),
              c.stream && badge(`own Stream ${c.stream.connected ? "up" : "down"}`, c.stream.connected ? "ok" : "warn"),
            ),
          ),
        )
      : el("p", { class: "dim" }, "No consumer seen."),
    el("h3", null, "Timeline"),
    timeline.length
      ? el(
          "ol",
          { class: "rows", id: "transitions" },
          timeline.map((t) =>
            el(
              "li",
              null,
              dim(when(t.at)),
              el("b", null, t.subject),
              el("span", null, t.from && [badge(t.from), " → "], badge(t.to)),
              el("span", { class: "grow" }, t.reason),
            ),
          ),
        )
      : el("p", { class: "dim" }, "No transitions yet."),
  );
}
