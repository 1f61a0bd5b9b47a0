// The OpenAPI 3.1 document, built from the same zod schemas the routes validate with. Built ahead of
// time (npm run static) into the Worker's static files: the JSON Schema generator never reaches the
// Worker's bundle.
import { APP_NAME } from "../../config/apps";
import { eventPushBodySchema } from "../../dingtalk/event-push";
import { robotMessageSchema } from "../../dingtalk/robot-message";
import * as z from "../../lib/zod";
import {
  ackSchema,
  extendSchema,
  heartbeatSchema,
  nackSchema,
  pullSchema,
  purgeSchema,
  redriveSchema,
  sendSchema,
} from "../consumer-schemas";
import * as answers from "./responses";

type Schema = z.ZodMiniType;

const components: Record<string, unknown> = {};

/** Registers a schema under `name` in components, once; answers a reference to it. */
function ref(name: string, schema: Schema, io: "input" | "output" = "output") {
  if (!(name in components)) {
    const { $schema: _drop, ...json } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<string, unknown>;
    components[name] = json;
  }
  return { $ref: `#/components/schemas/${name}` };
}

const json = (schema: object) => ({ content: { "application/json": { schema } } });
const error = (description: string) => ({ description, ...json(ref("Error", answers.errorAnswer)) });
const consumerErrors = {
  "400": error("The body or query is malformed; the message names the field."),
  "401": error("No token, or a token that does not open this app (an unknown app answers the same)."),
  "413": error("The body is larger than 256 KiB."),
};
const appParam = { name: "app", in: "path", required: true, schema: { type: "string", pattern: APP_NAME.source } };

function consumer(
  method: "get" | "post",
  summary: string,
  body: [string, Schema] | null,
  ok: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return {
    [method]: {
      summary,
      tags: ["consumer"],
      security: [{ bearer: [] }],
      parameters: [appParam, ...((extra.parameters as unknown[]) ?? [])],
      ...(body ? { requestBody: { required: body[0] !== "PullRequest", ...json(ref(body[0], body[1], "input")) } } : {}),
      responses: { ...ok, ...consumerErrors },
    },
  };
}

const page = [
  { name: "afterSeq", in: "query", schema: { type: "integer", minimum: 0, default: 0 } },
  { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 500, default: 100 } },
];

export function openApiDocument(version: string) {
  const paths = {
    "/dingtalk/{app}/robot": {
      post: {
        summary: "A robot message callback in HTTP mode, signed by DingTalk",
        tags: ["dingtalk"],
        parameters: [
          appParam,
          { name: "timestamp", in: "header", required: true, schema: { type: "string" } },
          { name: "sign", in: "header", required: true, schema: { type: "string" } },
        ],
        requestBody: { required: true, ...json(ref("RobotMessage", robotMessageSchema, "input")) },
        responses: {
          "200": {
            description: "Committed (or already stored): no reply, or the offline reply text.",
            ...json(ref("RobotCallbackAnswer", answers.robotCallbackAnswer)),
          },
          "400": error("Not UTF-8, not JSON, nested deeper than 64, or not a robot message."),
          "401": error("A missing, stale or wrong signature, or a signature already used for another message."),
          "404": error("No such app."),
          "413": error("Over 1 MiB."),
        },
      },
    },
    "/dingtalk/{app}/events": {
      post: {
        summary: "An encrypted event subscription push, or DingTalk's check_* handshake",
        tags: ["dingtalk"],
        parameters: [
          appParam,
          { name: "msg_signature", in: "query", schema: { type: "string" }, description: "or `signature`" },
          { name: "timestamp", in: "query", schema: { type: "string" }, description: "or `timeStamp`" },
          { name: "nonce", in: "query", required: true, schema: { type: "string" } },
        ],
        requestBody: { required: true, ...json(ref("EventPush", eventPushBodySchema, "input")) },
        responses: {
          "200": {
            description: "Accepted: the encrypted, signed answer DingTalk expects.",
            ...json(ref("EventPushAnswer", answers.eventPushAnswer)),
          },
          "400": error("Malformed body."),
          "401": error("A wrong signature, a stale timestamp, or a push that does not decrypt for this app."),
          "404": error("No such app, or no event token and AES key configured."),
        },
      },
    },
    "/v1/{app}/pull": consumer(
      "post",
      "Lease up to `max` ready events, oldest first; with `waitMs`, a long poll",
      ["PullRequest", pullSchema],
      {
        "200": { description: "The leased events, the mode and the poll hint.", ...json(ref("PullAnswer", answers.pullAnswer)) },
      },
    ),
    "/v1/{app}/ack": consumer("post", "Complete leased events", ["AckRequest", ackSchema], {
      "200": { description: "Acked, and stale lease ids.", ...json(ref("AckAnswer", answers.ackAnswer)) },
    }),
    "/v1/{app}/nack": consumer("post", "Return leased events to the queue", ["NackRequest", nackSchema], {
      "200": { description: "Requeued, dead-lettered, and stale lease ids.", ...json(ref("NackAnswer", answers.nackAnswer)) },
    }),
    "/v1/{app}/extend": consumer("post", "Keep events leased longer", ["ExtendRequest", extendSchema], {
      "200": { description: "Extended lease ids and the new expiry.", ...json(ref("ExtendAnswer", answers.extendAnswer)) },
    }),
    "/v1/{app}/heartbeat": consumer(
      "post",
      "Liveness, and what the gateway's own Stream connection saw",
      ["HeartbeatRequest", heartbeatSchema],
      {
        "200": { description: "The mode and poll hint.", ...json(ref("HeartbeatAnswer", answers.heartbeatAnswer)) },
      },
    ),
    "/v1/{app}/status": consumer("get", "The app's mode, link, consumers, queue, incidents, alerts and outbox", null, {
      "200": { description: "The status document.", ...json(ref("Status", answers.statusAnswer)) },
    }),
    "/v1/{app}/events": consumer(
      "get",
      "History within retention, oldest first (read-only)",
      null,
      { "200": { description: "A page of events.", ...json(ref("EventPage", answers.pageAnswer)) } },
      { parameters: page },
    ),
    "/v1/{app}/dead-letters": consumer(
      "get",
      "Dead letters, oldest first",
      null,
      { "200": { description: "A page of dead letters.", ...json(ref("EventPage", answers.pageAnswer)) } },
      { parameters: page },
    ),
    "/v1/{app}/dead-letters/redrive": consumer(
      "post",
      "Dead letters back into the queue with fresh attempts",
      ["RedriveRequest", redriveSchema],
      {
        "200": { description: "How many came back.", ...json(ref("RedriveAnswer", answers.redriveAnswer)) },
      },
    ),
    "/v1/{app}/dead-letters/purge": consumer("post", "Delete dead letters for good: the named ids, or all", ["PurgeRequest", purgeSchema], {
      "200": { description: "How many were deleted.", ...json(ref("PurgeAnswer", answers.purgeAnswer)) },
    }),
    "/v1/{app}/send": consumer(
      "post",
      "Send as the robot, once per key: a reply, or a message to a conversation or users",
      ["SendRequest", sendSchema],
      {
        "200": { description: "DingTalk took it.", ...json(ref("SendSent", answers.sendSent)) },
        "202": {
          description: "DingTalk cannot be reached now: kept in the outbox and retried for 24 h.",
          ...json(ref("SendQueued", answers.sendQueued)),
        },
        "404": error("replyTo names no stored event."),
        "502": error(
          "dingtalk_refused: DingTalk refused the message (its code and message included); dingtalk_unreachable: given up after 24 h.",
        ),
      },
    ),
    "/v1/{app}/send/{key}": consumer(
      "get",
      "What became of a send",
      null,
      {
        "200": { description: "Its state.", ...json(ref("SendFate", answers.sendFate)) },
        "404": error("No send with this key within retention."),
      },
      { parameters: [{ name: "key", in: "path", required: true, schema: { type: "string" } }] },
    ),
    "/health": {
      get: {
        summary: "Configuration and every inbox reachable; no token, no app names",
        tags: ["operations"],
        responses: {
          "200": { description: "Healthy.", ...json(ref("Health", answers.healthAnswer)) },
          "503": { description: "A check failed.", ...json(ref("Health", answers.healthAnswer)) },
        },
      },
    },
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "dingtalk-fallback-bridge",
      version,
      description:
        "DingTalk robot messages committed to a durable per-app inbox that gateways drain over HTTP. See the README for the guarantees.",
      license: { name: "MIT", identifier: "MIT" },
    },
    paths,
    components: { schemas: components, securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
  };
}
