// A line of the samples polled since the page opened, as inline SVG.
import { el } from "./dom.mjs";

const W = 300;
const H = 48;

function svg(tag, attrs) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  return e;
}

// samples: [{t, v}], oldest first.
export function sparkline(label, samples, show) {
  const top = Math.max(0, ...samples.map((s) => s.v));
  const t0 = samples[0]?.t ?? 0;
  const span = Math.max(1, (samples.at(-1)?.t ?? 0) - t0);
  const y = (v) => (H - 2 - (v / Math.max(1, top)) * (H - 4)).toFixed(1);
  const points = samples.map((s) => `${(((s.t - t0) / span) * W).toFixed(1)},${y(s.v)}`);
  if (samples.length === 1) points.push(`${W},${y(samples[0].v)}`);
  const line = { stroke: "currentColor", fill: "none", "vector-effect": "non-scaling-stroke" };
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img", "aria-label": `${label} over time` });
  chart.append(
    svg("path", { ...line, d: `M0 ${H - 2}H${W}`, "stroke-opacity": 0.25 }),
    svg("polyline", { ...line, points: points.join(" "), "stroke-width": 2 }),
  );
  const now = samples.at(-1)?.v;
  return el(
    "div",
    { class: "chart" },
    el("p", null, el("span", null, label), el("span", null, `now ${now == null ? "none" : show(now)} · max ${show(top)}`)),
    chart,
  );
}
