// The one error shape of every route: {"error": {"code", "message"}}.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export class BridgeError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "BridgeError";
  }
}

export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

export function errorResponse(c: Context, status: ContentfulStatusCode, code: string, message: string): Response {
  return c.json(errorBody(code, message), status);
}

/** Names the first problem of a zod failure by its path, never by the value that was sent. */
export function describeIssues(
  issues: readonly { path: readonly PropertyKey[]; message: string; code?: string; keys?: readonly string[] }[],
): string {
  const first = issues[0];
  if (!first) return "the body is not valid";
  // An unknown key is named by its own path, so a typo points at itself.
  const path = first.code === "unrecognized_keys" && first.keys?.length ? [...first.path, first.keys[0]!] : first.path;
  const where = path.length ? path.map(String).join(".") : "body";
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? "s" : ""})` : "";
  return `${where}: ${first.message}${more}`;
}
