// Ages and times. Ages use the bridge's own `now`, so a skewed local clock does not distort them.
export function age(ms) {
  if (ms == null) return "none";
  const s = Math.max(0, Math.round(ms / 1e3));
  const m = Math.round(s / 60);
  const h = Math.floor(m / 60);
  return s < 90 ? `${s} s` : m < 90 ? `${m} min` : h < 48 ? `${h} h ${m % 60} min` : `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function when(t, now) {
  if (t == null) return "never";
  const d = new Date(t);
  const time = d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString() : d.toLocaleString();
  return now ? `${time} (${age(now - t)} ago)` : time;
}

export function bytes(n) {
  let i = 0;
  for (; n >= 1024 && i < 4; i++) n /= 1024;
  return `${n < 10 && i ? n.toFixed(1) : Math.round(n)} ${["B", "KiB", "MiB", "GiB", "TiB"][i]}`;
}
