// What the history view asks GET events for: its filters, and where it stands in the pages. With no
// starting seq it shows the newest page (order=desc), live; from a seq it pages forward (afterSeq),
// oldest first, remembering the pages behind it for "Previous".
export const PAGE = 25;
export const FILTERS = ["conversationId", "msgId", "sender"];

export const newestQuery = (filter = {}) => ({ ...pick(filter), afterSeq: null, back: [] });

export const fromQuery = (filter, afterSeq) => ({ ...pick(filter), afterSeq, back: [] });

export const nextQuery = (q, page) => ({ ...q, afterSeq: page.nextAfterSeq, back: [...q.back, q.afterSeq] });

export const previousQuery = (q) => ({ ...q, afterSeq: q.back.at(-1), back: q.back.slice(0, -1) });

export function historyPath(q) {
  const p = new URLSearchParams({ limit: PAGE });
  if (q.afterSeq == null) p.set("order", "desc");
  else p.set("afterSeq", q.afterSeq);
  for (const k of FILTERS) if (q[k]) p.set(k, q[k]);
  return `events?${p}`;
}

function pick(filter) {
  const out = {};
  for (const k of FILTERS) if (filter[k]?.trim()) out[k] = filter[k].trim();
  return out;
}
