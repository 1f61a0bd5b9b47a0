// Text from outside (DingTalk, consumers), read strictly and without throwing: invalid UTF-8 is
// refused, never replaced; a byte-order mark is kept, so JSON.parse then refuses it; nesting deeper
// than MAX_JSON_DEPTH is refused before any recursive parser sees it.
import { jsonDepth } from "./json-depth";

/** Deeper JSON is refused: consumers in other languages parse recursively and would crash on it. */
export const MAX_JSON_DEPTH = 64;

export type JsonRefusal = { ok: false; code: "invalid_utf8" | "invalid_json" | "too_deep"; message: string };
export type Read<T> = { ok: true; value: T } | JsonRefusal;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The bytes as text, exactly: invalid UTF-8 is a refusal, never a replacement character. */
export function decodeUtf8(bytes: ArrayBuffer | Uint8Array): Read<string> {
  try {
    return { ok: true, value: strictUtf8.decode(bytes) };
  } catch {
    return { ok: false, code: "invalid_utf8", message: "the body is not valid UTF-8" };
  }
}

/** Parses JSON text from outside, with the same refusals wherever it came from. */
export function parseStrictJson(text: string): Read<unknown> {
  if (text.trim() === "") return { ok: false, code: "invalid_json", message: "the body is empty; send a JSON object" };
  if (text.charCodeAt(0) === 0xfeff) {
    return { ok: false, code: "invalid_json", message: "the body starts with a byte-order mark; send plain UTF-8 JSON" };
  }
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    return { ok: false, code: "too_deep", message: `the JSON nests deeper than ${MAX_JSON_DEPTH} levels` };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, code: "invalid_json", message: "the body is not valid JSON" };
  }
}
