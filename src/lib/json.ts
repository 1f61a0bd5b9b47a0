// Reading JSON from peers (DingTalk, alert sinks) that may answer anything at all.

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The parsed value, or null when the text is not JSON: callers judge by status alone then. */
export function parseJsonOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
