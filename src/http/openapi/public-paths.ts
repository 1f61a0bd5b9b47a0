// The routes without a consumer token: DingTalk's calls (checked by their own signatures), health,
// the index, the console and this document. Each has `security: []`.
import { eventPushBodySchema } from "../../dingtalk/event-push";
import { robotMessageSchema } from "../../dingtalk/robot-message";
import { type Components, type Json, json } from "./builders";
import * as answers from "./responses";

const PUBLIC = { security: [] };
const text = (type: string, description: string): Json => ({ description, content: { [type]: { schema: { type: "string" } } } });
const notModified: Json = { description: "Not modified: the `If-None-Match` ETag is current." };
const etag: Json = {
  name: "If-None-Match",
  in: "header",
  required: false,
  description: "The ETag of a copy already held.",
  schema: { type: "string" },
};

export function publicPaths(c: Components, appParameter: Json): Record<string, Json> {
  const misconfigured = c.error(
    "bridge_misconfigured: the app's settings are broken (the bridge's logs name the setting); bridge_outdated: the app's storage was written by a newer bridge (a rollback after an upgrade).",
  );
  return {
    "/dingtalk/{app}/robot": {
      post: {
        operationId: "robotCallback",
        summary: "A robot message callback in HTTP mode, signed by DingTalk",
        tags: ["dingtalk"],
        ...PUBLIC,
        parameters: [
          appParameter,
          {
            name: "timestamp",
            in: "header",
            required: true,
            description: "Milliseconds since 1970, as signed.",
            schema: { type: "string" },
          },
          {
            name: "sign",
            in: "header",
            required: true,
            description: "base64(HMAC-SHA256(client secret, timestamp + newline + client secret)).",
            schema: { type: "string" },
          },
        ],
        requestBody: c.body("RobotMessage", robotMessageSchema),
        responses: {
          "200": c.answer(
            "Committed (or already stored): no reply, or the offline reply text.",
            "RobotCallbackAnswer",
            answers.robotCallbackAnswer,
          ),
          "400": c.error("Not UTF-8, not JSON, nested deeper than 64, or not a robot message."),
          "401": c.error("A missing, stale or wrong signature, or a signature already used for another message."),
          "404": c.error("unknown_app: no such app."),
          "413": c.error("body_too_large: over 1 MiB."),
          "503": misconfigured,
        },
      },
    },
    "/dingtalk/{app}/events": {
      post: {
        operationId: "eventPush",
        summary: "An encrypted event subscription push, or DingTalk's check_* handshake",
        tags: ["dingtalk"],
        ...PUBLIC,
        parameters: [
          appParameter,
          { name: "msg_signature", in: "query", description: "The push's signature (or `signature`).", schema: { type: "string" } },
          { name: "timestamp", in: "query", description: "When DingTalk sent it (or `timeStamp`).", schema: { type: "string" } },
          {
            name: "nonce",
            in: "query",
            required: true,
            description: "DingTalk's nonce, part of the signature.",
            schema: { type: "string" },
          },
        ],
        requestBody: c.body("EventPush", eventPushBodySchema),
        responses: {
          "200": c.answer("Accepted: the encrypted, signed answer DingTalk expects.", "EventPushAnswer", answers.eventPushAnswer),
          "400": c.error("Malformed body."),
          "401": c.error("A wrong signature, a stale timestamp, or a push that does not decrypt for this app."),
          "404": c.error("unknown_app, events_not_configured: no such app, or no event token and AES key configured."),
          "413": c.error("body_too_large: over 1 MiB."),
          "503": misconfigured,
        },
      },
    },
    "/health": {
      get: {
        operationId: "health",
        summary: "Each app's configuration, inbox and link; 200 while any app can take messages",
        tags: ["operations"],
        ...PUBLIC,
        responses: {
          "200": c.answer("At least one app can take messages.", "Health", answers.healthAnswer),
          "503": c.answer(
            "No app can take messages, or the configuration cannot be read at all.",
            "HealthFailed",
            answers.healthFailedAnswer,
          ),
        },
      },
    },
    "/": {
      get: {
        operationId: "index",
        summary: "The bridge's name and its routes",
        tags: ["operations"],
        ...PUBLIC,
        responses: { "200": c.answer("The index.", "Index", answers.indexAnswer) },
      },
    },
    "/console": {
      get: {
        operationId: "console",
        summary: "The operator console's page (it asks for a token itself)",
        tags: ["operations"],
        ...PUBLIC,
        parameters: [etag],
        responses: { "200": text("text/html", "The page."), "304": notModified },
      },
    },
    "/console/{file}": {
      get: {
        operationId: "consoleFile",
        summary: "The console's script and stylesheet",
        tags: ["operations"],
        ...PUBLIC,
        parameters: [
          {
            name: "file",
            in: "path",
            required: true,
            description: "The file.",
            schema: { type: "string", enum: ["main.mjs", "console.css"] },
          },
          etag,
        ],
        responses: {
          "200": {
            description: "The file.",
            content: { "text/javascript": { schema: { type: "string" } }, "text/css": { schema: { type: "string" } } },
          },
          "304": notModified,
          "404": c.error("not_found: no such file."),
        },
      },
    },
    "/openapi.json": {
      get: {
        operationId: "openApiDocument",
        summary: "This document",
        tags: ["operations"],
        ...PUBLIC,
        parameters: [etag],
        responses: {
          "200": { description: "The OpenAPI 3.1 document.", ...json({ type: "object" }) },
          "304": notModified,
        },
      },
    },
  };
}
