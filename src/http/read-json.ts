// Reads a JSON body and validates it with a zod schema, answering 400 with what is wrong.
import type { Context } from "hono";
import type { z } from "zod";
import { BridgeError, describeIssues } from "./errors";

/** The body's text and parsed value; a body that is not JSON is a 400, never a 500. */
export async function readJsonText(c: Context): Promise<{ text: string; value: unknown }> {
  const text = await c.req.text();
  if (text.trim() === "") throw new BridgeError(400, "invalid_json", "the body is empty; send a JSON object");
  try {
    return { text, value: JSON.parse(text) };
  } catch {
    throw new BridgeError(400, "invalid_json", "the body is not valid JSON");
  }
}

/** A JSON body checked against `schema`; with `optional`, an empty body counts as `{}`. */
export async function readBody<S extends z.ZodType>(c: Context, schema: S, optional = false): Promise<z.infer<S>> {
  // Hono caches the body text, so reading it here and again in readJsonText costs nothing.
  if (optional && (await c.req.text()).trim() === "") return parseWith(schema, {}, "invalid_body");
  return parseWith(schema, (await readJsonText(c)).value, "invalid_body");
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, code: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new BridgeError(400, code, describeIssues(parsed.error.issues));
  return parsed.data;
}
