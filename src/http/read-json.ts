// Reads a JSON body and validates it with a zod schema, answering 400 with what is wrong.
import type { Context } from "hono";
import { jsonDepth } from "../lib/json-depth";
import type * as z from "../lib/zod";
import { BridgeError, describeIssues } from "./errors";

/** Deeper bodies are refused: consumers in other languages parse recursively and would crash on them. */
export const MAX_JSON_DEPTH = 64;

// fatal: invalid UTF-8 is refused, never replaced; ignoreBOM: a byte-order mark is kept, so the
// text is exactly the bytes that came (and JSON.parse then refuses it, as it should).
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The body as text, exactly as sent: invalid UTF-8 is a 400, never silently replaced. */
export async function readText(c: Context): Promise<string> {
  const bytes = await c.req.arrayBuffer();
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new BridgeError(400, "invalid_utf8", "the body is not valid UTF-8");
  }
}

/** The body's text and parsed value; a body that is not JSON is a 400, never a 500. */
export async function readJsonText(c: Context): Promise<{ text: string; value: unknown }> {
  const text = await readText(c);
  return { text, value: parseJsonText(text) };
}

/** Parses JSON text from outside, with the same refusals wherever it came from. */
export function parseJsonText(text: string): unknown {
  if (text.trim() === "") throw new BridgeError(400, "invalid_json", "the body is empty; send a JSON object");
  if (text.charCodeAt(0) === 0xfeff) {
    throw new BridgeError(400, "invalid_json", "the body starts with a byte-order mark; send plain UTF-8 JSON");
  }
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw new BridgeError(400, "too_deep", `the JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new BridgeError(400, "invalid_json", "the body is not valid JSON");
  }
}

/** A JSON body checked against `schema`; with `optional`, an empty body counts as `{}`. */
export async function readBody<S extends z.ZodMiniType>(c: Context, schema: S, optional = false): Promise<z.infer<S>> {
  const text = await readText(c);
  if (optional && text.trim() === "") return parseWith(schema, {}, "invalid_body");
  return parseWith(schema, parseJsonText(text), "invalid_body");
}

export function parseWith<S extends z.ZodMiniType>(schema: S, value: unknown, code: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new BridgeError(400, code, describeIssues(parsed.error.issues));
  return parsed.data;
}
