// The HTTP control API under /_fake/: the in-process API, reachable from another process
// (tests inside workerd, a demo script). Each route calls the same method a Node test would.
import type { IncomingMessage, ServerResponse } from "node:http";
import { type SampleOptions, sampleRobotMessage } from "../../../src/dingtalk/sample-messages.ts";
import type { FakeContext } from "./context.ts";
import { isObject, parseJson, readText, sendJson } from "./http-io.ts";
import { hexId } from "./ids.ts";
import type { FakeDingTalk } from "./types.ts";

type Body = Record<string, unknown>;
/** What a route answers, besides `ok: true`; nothing, for a route that only acts. */
type Handler = (body: Body) => unknown;

export function controlRoutes(fake: FakeDingTalk, ctx: FakeContext): Map<string, Handler> {
  // Test files running side by side claim app names here, the one process they all share.
  const claimed = new Map<string, Set<string>>();
  return new Map<string, Handler>([
    ["GET /_fake/state", () => fake.state()],
    [
      "POST /_fake/robot-message",
      (b) => {
        const clientId = optionalStr(b, "clientId");
        return fake.sendRobotMessage(robotData(b, fake, ctx), clientId !== undefined ? { clientId } : {});
      },
    ],
    [
      "POST /_fake/raw-frame",
      (b) => {
        if (!("frame" in b)) throw new Error("frame is required");
        return { sentTo: fake.sendRawFrame(b.frame, targetOpts(b)) };
      },
    ],
    ["POST /_fake/ping", (b) => ({ sentTo: fake.sendPing(target(b)) })],
    ["POST /_fake/disconnect", (b) => ({ sentTo: fake.sendDisconnect(target(b), optionalStr(b, "reason")) })],
    ["POST /_fake/drop", (b) => ({ dropped: fake.drop(target(b)) })],
    ["POST /_fake/mute", (b) => ({ muted: fake.mute(target(b)) })],
    ["POST /_fake/close-all", (b) => void fake.closeAll(optionalStr(b, "clientId"))],
    ["POST /_fake/stuck", (b) => void fake.setStuck(bool(b, "stuck"))],
    ["POST /_fake/refuse", (b) => void fake.setRefuseCredentials(bool(b, "refuse"))],
    ["POST /_fake/robot-permission", (b) => void fake.setRobotPermission(bool(b, "granted"), optionalStr(b, "clientId"))],
    [
      "POST /_fake/fail-next",
      (b) => {
        const how =
          b.reset === true
            ? "reset"
            : b.hang === true
              ? "hang"
              : {
                  status: num(b, "status"),
                  ...("body" in b ? { body: b.body } : {}),
                  ...(typeof b.location === "string" ? { location: b.location } : {}),
                };
        fake.failNext(str(b, "route"), num(b, "count"), how, optionalStr(b, "clientId"));
      },
    ],
    ["POST /_fake/throttle-next", (b) => void fake.throttleNext(str(b, "route"), num(b, "count"), optionalStr(b, "clientId"))],
    ["POST /_fake/expire-tokens", () => void fake.expireTokens()],
    ["POST /_fake/clear-failures", () => void fake.clearFailures()],
    ["POST /_fake/reset", () => void fake.reset()],
    [
      "POST /_fake/claim",
      (b) => {
        const pool = str(b, "pool");
        if (!Array.isArray(b.names)) throw new Error("names must be an array");
        const taken = claimed.get(pool) ?? new Set<string>();
        claimed.set(pool, taken);
        const name = (b.names as unknown[]).find((n): n is string => typeof n === "string" && !taken.has(n)) ?? null;
        if (name !== null) taken.add(name);
        return { name };
      },
    ],
  ]);
}

export async function handleControl(routes: Map<string, Handler>, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const handler = routes.get(`${req.method ?? "GET"} ${url.pathname}`);
  const text = await readText(req);
  if (!handler) {
    sendJson(res, 404, { error: `no control route ${req.method} ${url.pathname}`, routes: [...routes.keys()] });
    return;
  }
  const parsed = text.trim() === "" ? { ok: true as const, value: {} } : parseJson(text);
  if (!parsed.ok || !isObject(parsed.value)) {
    sendJson(res, 400, { error: "the body must be a JSON object" });
    return;
  }
  try {
    const result = handler(parsed.value);
    sendJson(res, 200, { ok: true, ...(isObject(result) ? result : {}) });
  } catch (err) {
    sendJson(res, 400, { error: err instanceof Error ? err.message : String(err) });
  }
}

/** `data` as given, or a text sample whose sessionWebhook and robotCode lead back to this fake. */
function robotData(b: Body, fake: FakeDingTalk, ctx: FakeContext): Record<string, unknown> {
  if ("data" in b) {
    if (!isObject(b.data)) throw new Error("data must be a JSON object");
    return b.data;
  }
  const clientId = optionalStr(b, "clientId") ?? ctx.defaultClientId;
  const app = ctx.apps.get(clientId);
  if (!app) throw new Error(`unknown app ${clientId}`);
  const sample = (isObject(b.sample) ? b.sample : {}) as SampleOptions;
  return {
    ...sampleRobotMessage({ msgtype: "text", ...sample }),
    sessionWebhook: fake.sessionWebhookUrl(hexId(8)),
    robotCode: app.robotCode ?? app.clientId,
  };
}

function targetOpts(b: Body): { connectionId?: string; clientId?: string } {
  const connectionId = optionalStr(b, "connectionId");
  const clientId = optionalStr(b, "clientId");
  return { ...(connectionId !== undefined ? { connectionId } : {}), ...(clientId !== undefined ? { clientId } : {}) };
}

function optional(b: Body, key: string): boolean {
  return b[key] !== undefined && b[key] !== null;
}

function optionalStr(b: Body, key: string): string | undefined {
  return optional(b, key) ? str(b, key) : undefined;
}

function str(b: Body, key: string): string {
  const v = b[key];
  if (typeof v !== "string") throw new Error(`${key} must be a string`);
  return v;
}

function num(b: Body, key: string): number {
  const v = b[key];
  if (typeof v !== "number") throw new Error(`${key} must be a number`);
  return v;
}

function bool(b: Body, key: string): boolean {
  const v = b[key];
  if (typeof v !== "boolean") throw new Error(`${key} must be true or false`);
  return v;
}

/** The connections a switch acts on: `connectionId`, or every live one of `clientId`'s app. */
function target(b: Body): string | undefined {
  return optionalStr(b, "connectionId") ?? optionalStr(b, "clientId");
}
