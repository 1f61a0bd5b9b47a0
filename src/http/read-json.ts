// Reads a JSON body and validates it with a zod schema, answering 400 with what is wrong.
import type { Context } from "hono";
import { decodeUtf8, parseStrictJson, type Read } from "../lib/strict-json";
import type * as z from "../lib/zod";
import { describeIssues } from "../lib/zod-issues";
import { HttpError } from "./errors";

function orRefuse<T>(read: Read<T>): T {
  if (!read.ok) throw new HttpError(400, read.code, read.message);
  return read.value;
}

/** The body as text, exactly as sent: invalid UTF-8 is a 400, never silently replaced. */
export async function readText(c: Context): Promise<string> {
  return orRefuse(decodeUtf8(await c.req.arrayBuffer()));
}

/** The body's text and parsed value; a body that is not JSON is a 400, never a 500. */
export async function readJsonText(c: Context): Promise<{ text: string; value: unknown }> {
  const text = await readText(c);
  return { text, value: orRefuse(parseStrictJson(text)) };
}

/** A JSON body checked against `schema`; with `optional`, an empty body counts as `{}`. */
export async function readBody<S extends z.ZodMiniType>(c: Context, schema: S, optional = false): Promise<z.infer<S>> {
  const text = await readText(c);
  if (optional && text.trim() === "") return parseWith(schema, {}, "invalid_body");
  return parseWith(schema, orRefuse(parseStrictJson(text)), "invalid_body");
}

export function parseWith<S extends z.ZodMiniType>(schema: S, value: unknown, code: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new HttpError(400, code, describeIssues(parsed.error.issues));
  return parsed.data;
}
