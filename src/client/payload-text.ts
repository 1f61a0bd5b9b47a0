// The exact JSON text of each event's payload, as DingTalk sent it. The bridge splices stored
// payloads into its answers unchanged, so the text is in the answer; JSON.parse would lose it (key
// order survives, but number spellings, escapes and spacing do not). Found only when asked for, by
// walking the answer's structure, so consumers that never ask pay nothing.

interface Answer {
  text: string;
  /** [start, end) of each event's payload in `text`; computed on first use. */
  spans?: ([number, number] | null)[] | null;
}

const sources = new WeakMap<object, { answer: Answer; index: number }>();

/** Remembers where the events of a `{..., "events": [...]}` answer came from. */
export function notePayloadTexts(events: readonly object[], answerText: string): void {
  const answer: Answer = { text: answerText };
  events.forEach((event, index) => {
    sources.set(event, { answer, index });
  });
}

/**
 * The payload of an event from `pull` or `history` exactly as DingTalk sent it (for event pushes,
 * the decrypted JSON text), or undefined for an event the client did not read from the bridge.
 */
export function payloadText(event: object): string | undefined {
  const source = sources.get(event);
  if (!source) return undefined;
  const { answer } = source;
  if (answer.spans === undefined) answer.spans = payloadSpans(answer.text);
  const span = answer.spans?.[source.index];
  return span ? answer.text.slice(span[0], span[1]) : undefined;
}

/** Where each element of the top-level `events` array has its `payload`; null when the text is not such a document. */
export function payloadSpans(text: string): ([number, number] | null)[] | null {
  try {
    for (const member of objectMembers(text, 0)) {
      if (member.key !== "events") continue;
      const spans: ([number, number] | null)[] = [];
      for (const [start] of arrayElements(text, member.start)) {
        let span: [number, number] | null = null;
        for (const field of objectMembers(text, start)) if (field.key === "payload") span = [field.start, field.end];
        spans.push(span);
      }
      return spans;
    }
  } catch {
    // not the document we expected: no payload texts
  }
  return null;
}

interface Member {
  key: string;
  start: number;
  end: number;
}

function* objectMembers(text: string, at: number): Generator<Member> {
  let i = expect(text, skipSpace(text, at), "{");
  if (text[skipSpace(text, i)] === "}") return;
  for (;;) {
    const keyStart = skipSpace(text, i);
    const keyEnd = valueEnd(text, keyStart);
    const key = JSON.parse(text.slice(keyStart, keyEnd)) as string;
    const start = skipSpace(text, expect(text, skipSpace(text, keyEnd), ":"));
    const end = valueEnd(text, start);
    yield { key, start, end };
    i = skipSpace(text, end);
    if (text[i] === "}") return;
    i = expect(text, i, ",");
  }
}

function* arrayElements(text: string, at: number): Generator<[number, number]> {
  let i = expect(text, skipSpace(text, at), "[");
  if (text[skipSpace(text, i)] === "]") return;
  for (;;) {
    const start = skipSpace(text, i);
    const end = valueEnd(text, start);
    yield [start, end];
    i = skipSpace(text, end);
    if (text[i] === "]") return;
    i = expect(text, i, ",");
  }
}

/** The index just past the JSON value starting at `i` (the text is known to be valid JSON). */
function valueEnd(text: string, i: number): number {
  const first = text[i];
  if (first === '"') return stringEnd(text, i);
  if (first === "{" || first === "[") {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const c = text[j];
      if (c === '"') j = stringEnd(text, j) - 1;
      else if (c === "{" || c === "[") depth++;
      else if ((c === "}" || c === "]") && --depth === 0) return j + 1;
    }
    throw new Error("unterminated value");
  }
  let j = i;
  while (j < text.length && !",}] \t\r\n".includes(text[j]!)) j++;
  if (j === i) throw new Error("no value");
  return j;
}

function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    const c = text[j];
    if (c === "\\") j++;
    else if (c === '"') return j + 1;
  }
  throw new Error("unterminated string");
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && " \t\r\n".includes(text[i]!)) i++;
  return i;
}

function expect(text: string, i: number, c: string): number {
  if (text[i] !== c) throw new Error(`expected ${c} at ${i}`);
  return i + 1;
}
