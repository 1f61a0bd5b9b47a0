// Routing: the mode, what came in by which path, the bridge's own Stream link apart from the
// gateways' own Stream connections (only a consumer's report says a gateway holds one), the
// consumers, and the timeline of transitions, newest first.
import { badge, dim, el, fields, fill, plural, rowsOr, tile } from "./dom.mjs";
import { age, when } from "./format.mjs";

const OFF = { state: "off", opens: [], countedOpens: [] };

// What the consumers' own heartbeats say of their Stream connections: the link's do not count here.
export function gatewayStream(s) {
  const reports = s.consumers.list.filter((c) => c.stream);
  const up = reports.filter((c) => c.stream.connected).length;
  if (!reports.length) return "none reported";
  return up ? "connected" : "disconnected";
}

const rejected = (byCode) =>
  Object.keys(byCode ?? {}).length
    ? el(
        "span",
        { id: "rejected" },
        Object.entries(byCode).map(([code, n]) => el("span", { "data-code": code }, el("code", null, code), ` ${n} `)),
      )
    : "none";

function linkFields(s, link) {
  if (link.state === "off") return el("p", { class: "dim" }, "Off: DingTalk's Stream, if used, is held by a gateway (STREAM_LINK).");
  return fields([
    ["state", badge(link.state), "link state"],
    ["connected", when(link.connectedAt, s.now)],
    ["last frame", when(link.lastFrameAt, s.now)],
    ["last message", when(link.lastMessageAt, s.now)],
    ["opens", `${link.opens.length} in the last hour`, "link opens"],
    ["counted opens", `${(link.countedOpens ?? []).length} in the last hour (budget: 3 in 10 min, 10 an hour)`, "link counted opens"],
    link.retryAt && ["next try", when(link.retryAt)],
    link.lastError && ["last error", el("span", { class: "bad" }, link.lastError), "link error"],
  ]);
}

export function renderRouting(s) {
  const link = s.link ?? OFF;
  const c = s.counters;
  const reports = s.consumers.list.filter((x) => x.stream);
  const timeline = [...s.transitions].sort((a, b) => b.at - a.at);
  fill(
    "routing",
    el(
      "div",
      { class: "tiles" },
      tile("mode", badge(s.mode), dim(` poll ${s.pollHintMs} ms`)),
      tile("link", badge(link.state)),
      tile("gateway's Stream", badge(gatewayStream(s))),
      tile("consumers", badge(s.consumers.state)),
      tile("routing", badge(s.routing)),
    ),
    el("h3", null, "What came in"),
    fields([
      ["HTTP callbacks", `${c.callbacksAccepted} accepted, last ${when(s.lastCallbackAt, s.now)}`, "callbacksAccepted"],
      ["link messages", `${c.linkMessagesAccepted} accepted, last ${when(link.lastMessageAt, s.now)}`, "linkMessagesAccepted"],
      ["refused at the door", rejected(c.rejected), "rejected"],
      ["reused signatures", `${c.signReused} kept aside, ${c.signReuseRefused} refused`, "signReused"],
      ["robot URL", s.robotUrl ? el("code", null, s.robotUrl) : "not known yet"],
      ["last pull", when(s.lastPullAt, s.now)],
    ]),
    el("h3", null, "The bridge's Stream link"),
    linkFields(s, link),
    el("h3", null, "Gateways' own Stream"),
    fields([
      [
        "reported",
        reports.length
          ? `${gatewayStream(s)}: ${reports.filter((x) => x.stream.connected).length} of ${plural(reports.length, "gateway")} up`
          : "no gateway reports one",
        "gateway stream",
      ],
    ]),
    dim(
      `Stream by either path (link or gateways): last message ${when(s.lastStreamMessageAt, s.now)}, `,
      `${plural(s.stream.recentReconnects.length, "reconnect")} recently.`,
    ),
    el("h3", null, `Consumers (${s.consumers.list.length})`),
    rowsOr(
      "ul",
      null,
      s.consumers.list,
      (x) =>
        el(
          "li",
          null,
          el("code", { class: "grow" }, x.id),
          dim(`seen ${age(s.now - x.lastSeenAt)} ago`),
          x.stream && badge(`own Stream ${x.stream.connected ? "up" : "down"}`, x.stream.connected ? "ok" : "warn"),
        ),
      "No consumer seen.",
    ),
    el("h3", null, "Timeline"),
    rowsOr(
      "ol",
      { id: "transitions" },
      timeline,
      (t) =>
        el(
          "li",
          { "data-subject": t.subject },
          dim(when(t.at)),
          el("b", null, t.subject),
          el("span", null, t.from && [badge(t.from), " → "], badge(t.to)),
          el("span", { class: "grow" }, t.reason),
        ),
      "No transitions yet.",
    ),
  );
}
