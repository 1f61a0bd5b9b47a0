// Payloads exactly as stored: the bridge splices each one into its answer as the text DingTalk
// sent, so it is sliced out of the raw answer and re-indented token by token, never parsed and
// re-serialised (which would round big numbers, undo escapes and reorder keys like "2").
const ws = (t, i) => {
  while (/\s/.test(t[i] ?? "")) i++;
  return i;
};

// Just past the string literal that opens at t[i].
function strEnd(t, i) {
  for (i++; i < t.length && t[i] !== '"'; i++) if (t[i] === "\\") i++;
  return i + 1;
}

// Just past the value that starts at t[i].
function valueEnd(t, i) {
  if (t[i] === '"') return strEnd(t, i);
  for (let depth = 0; i < t.length; i++) {
    if (t[i] === '"') i = strEnd(t, i) - 1;
    else if (t[i] === "{" || t[i] === "[") depth++;
    else if (t[i] === "}" || t[i] === "]") {
      if (--depth < 0) return i;
      if (!depth) return i + 1;
    } else if (!depth && /[\s,]/.test(t[i])) return i;
  }
  return i;
}

// [key or index, start, end] of each member of the object or array at t[i].
function* members(t, i) {
  const object = t[i] === "{";
  for (let n = 0; ; n++) {
    i = ws(t, i + 1); // past "{", "[" or ","
    if (t[i] === "}" || t[i] === "]" || i >= t.length) return;
    let key = n;
    if (object) {
      const end = strEnd(t, i);
      key = JSON.parse(t.slice(i, end));
      i = ws(t, t.indexOf(":", end) + 1);
    }
    const start = i;
    i = ws(t, valueEnd(t, i));
    yield [key, start, i];
    if (t[i] !== ",") return;
  }
}

// The exact text of each event's payload in an answer {..., "events": [...]}, in order.
export function rawPayloads(text) {
  const out = [];
  for (const [k, s] of members(text, ws(text, 0))) {
    if (k === "events")
      for (const [, e] of members(text, s))
        for (const [key, vs, ve] of members(text, e)) if (key === "payload") out.push(text.slice(vs, ve).trim());
  }
  return out;
}

// JSON text indented by two spaces, every token kept byte for byte.
export function prettyJson(raw) {
  let out = "";
  let indent = "\n";
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '"') {
      const end = strEnd(raw, i);
      out += raw.slice(i, end);
      i = end - 1;
    } else if (c === "{" || c === "[") {
      const next = ws(raw, i + 1);
      if (raw[next] === "}" || raw[next] === "]") {
        out += c + raw[next];
        i = next;
      } else {
        indent += "  ";
        out += c + indent;
      }
    } else if (c === "}" || c === "]") {
      indent = indent.slice(0, -2);
      out += indent + c;
    } else if (c === ",") out += c + indent;
    else if (c === ":") out += ": ";
    else if (!/\s/.test(c)) out += c;
  }
  return out;
}
