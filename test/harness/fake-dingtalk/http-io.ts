// Small HTTP helpers shared by the fake's routes.
import type { IncomingMessage, ServerResponse } from "node:http";
import { requestId } from "./ids.ts";

/** Bodies already read once, so a handler can read again what routing looked into. */
const readBodies = new WeakMap<IncomingMessage, Promise<string>>();

export function readText(req: IncomingMessage): Promise<string> {
  let body = readBodies.get(req);
  if (!body) {
    body = readOnce(req);
    readBodies.set(req, body);
  }
  return body;
}

function readOnce(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, "content-type": "application/json;charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** The error body DingTalk's v1.0 gateway answers: `{code, message, requestid}`. */
export function dingError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { requestid: requestId(), code, message });
}

export function isJsonContentType(req: IncomingMessage): boolean {
  return (req.headers["content-type"] ?? "").toLowerCase().includes("application/json");
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/** Reads a body DingTalk's v1.0 gateway would accept: JSON by content type, an object. */
export async function readApiBody(req: IncomingMessage, res: ServerResponse): Promise<Record<string, unknown> | null> {
  const text = await readText(req);
  // DingTalk answers a non-JSON body this way (seen for form-encoded bodies to oauth2/accessToken).
  if (!isJsonContentType(req) || text.length === 0) {
    dingError(res, 400, "Missingbody", "body is mandatory for this action.");
    return null;
  }
  const parsed = parseJson(text);
  if (!parsed.ok || !isObject(parsed.value)) {
    dingError(res, 400, "InvalidParameter", "the request body is not a JSON object");
    return null;
  }
  return parsed.value;
}
