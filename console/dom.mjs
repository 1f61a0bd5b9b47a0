// Elements built with append(): every string, payloads above all, becomes a Text node. Nothing
// here parses HTML (and the CSP's Trusted Types would refuse it).

// el("li", {class: "x", onclick: f}, "text", node, [more]): on* are listeners, the rest attributes.
export function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  e.append(...children.flat(9).filter((c) => c != null && c !== false));
  return e;
}

const TONES = {
  ok: "webhook stream attached ok open sent acked resolved connected",
  warn: "unknown connecting backoff pending no_sink queued leased ready detached disconnected cancelled",
  bad: "refused gave_up failed dead suspected_stuck",
};

export const badge = (state, tone = Object.keys(TONES).find((t) => TONES[t].split(" ").includes(state))) =>
  el("span", { class: `b ${tone ?? ""}` }, state ?? "none");

// A <dl> of [term, value, name?]; null values are left out. Each value carries data-field (the
// name, else the term) for the browser test to find it by.
export const fields = (pairs) =>
  el(
    "dl",
    null,
    pairs.filter((p) => p?.[1] != null).map(([k, v, name]) => [el("dt", null, k), el("dd", { "data-field": name ?? k }, v)]),
  );

export const tile = (label, value, extra) =>
  el("div", { class: "tile", "data-field": label }, el("b", null, value), el("span", null, label), extra);

export const dim = (...text) => el("span", { class: "dim" }, ...text);

// A list of rows (<ul> or <ol> with the props given), or, when there is none, a line saying so.
export const rowsOr = (tag, props, items, row, empty, tone = "dim") =>
  items.length ? el(tag, { class: "rows", ...props }, items.map(row)) : el("p", { class: tone }, empty);

export const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

export function fill(id, ...nodes) {
  document.querySelector(`#${id} > div`).replaceChildren(...nodes.flat().filter(Boolean));
}
