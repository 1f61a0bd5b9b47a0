// The consumer API's operations under /v1/{app}: each with the scope its token needs, its body or
// query from the schemas the route validates with, and every answer it can give.
import type { Scope } from "../../config/tokens";
import type * as z from "../../lib/zod";
import {
  ackSchema,
  cancelSchema,
  diagnoseSchema,
  extendSchema,
  heartbeatSchema,
  historyQuerySchema,
  nackSchema,
  outboxQuerySchema,
  pageQuerySchema,
  pullSchema,
  purgeSchema,
  redriveSchema,
  replaySchema,
  sendKey,
  sendSchema,
} from "../consumer-schemas";
import { type Components, type Json, pathParameter, queryParameters } from "./builders";
import * as answers from "./responses";

interface Operation {
  id: string;
  tag: "draining" | "sending" | "reading" | "operating";
  summary: string;
  /** Any one of these scopes opens the route. */
  scopes: Scope[];
  /** A JSON body: its component name and schema, and whether it may be left out (read as `{}`). */
  body?: { name: string; schema: z.ZodMiniType; optional?: boolean };
  parameters?: Json[];
  ok: Record<string, Json>;
  errors?: Record<string, Json>;
}

const PAGE = {
  afterSeq: "Events with a seq above this one; `nextAfterSeq` of the previous page.",
  limit: "At most this many events.",
};

export function consumerPaths(c: Components, appParameter: Json): Record<string, Json> {
  const operation = (method: "get" | "post", op: Operation): Json => ({
    [method]: {
      operationId: op.id,
      summary: op.summary,
      description: `Needs a consumer token with the ${op.scopes.map((s) => `\`${s}\``).join(" or ")} scope.`,
      tags: [op.tag],
      // OpenAPI 3.1 lets a bearer requirement name roles: the scopes, any one of which will do.
      security: op.scopes.map((s) => ({ bearer: [s] })),
      parameters: [appParameter, ...(op.parameters ?? [])],
      ...(op.body ? { requestBody: c.body(op.body.name, op.body.schema, !op.body.optional) } : {}),
      responses: {
        ...op.ok,
        "400": c.error(
          "invalid_body, invalid_query, invalid_json, invalid_utf8, too_deep, bad_authorization: the request is malformed; the message names the field.",
        ),
        "401": c.error("missing_token, bad_token: no token, or one that does not open this app (an unknown app answers the same)."),
        "403": c.error("scope_refused: the token lacks the scope this route needs; the message names it and the token's scopes."),
        ...(method === "post" ? { "413": c.error("body_too_large: the body is larger than 256 KiB.") } : {}),
        ...op.errors,
        "503": c.error(
          "bridge_misconfigured: the app's settings are broken (the bridge's logs name the setting); bridge_outdated: the app's storage was written by a newer bridge (a rollback after an upgrade).",
        ),
      },
    },
  });

  return {
    "/v1/{app}/pull": operation("post", {
      id: "pull",
      tag: "draining",
      summary: "Lease up to `max` ready events, oldest first; with `waitMs`, a long poll",
      scopes: ["drain"],
      body: { name: "PullRequest", schema: pullSchema, optional: true },
      ok: { "200": c.answer("The leased events, the mode and the poll hint.", "PullAnswer", answers.pullAnswer) },
    }),
    "/v1/{app}/ack": operation("post", {
      id: "ack",
      tag: "draining",
      summary: "Complete leased events",
      scopes: ["drain"],
      body: { name: "AckRequest", schema: ackSchema },
      ok: { "200": c.answer("Acked, and stale lease ids.", "AckAnswer", answers.ackAnswer) },
    }),
    "/v1/{app}/nack": operation("post", {
      id: "nack",
      tag: "draining",
      summary: "Return leased events to the queue",
      scopes: ["drain"],
      body: { name: "NackRequest", schema: nackSchema },
      ok: { "200": c.answer("Requeued, dead-lettered, and stale lease ids.", "NackAnswer", answers.nackAnswer) },
    }),
    "/v1/{app}/extend": operation("post", {
      id: "extend",
      tag: "draining",
      summary: "Keep events leased longer",
      scopes: ["drain"],
      body: { name: "ExtendRequest", schema: extendSchema },
      ok: { "200": c.answer("Extended lease ids and the new expiry.", "ExtendAnswer", answers.extendAnswer) },
    }),
    "/v1/{app}/heartbeat": operation("post", {
      id: "heartbeat",
      tag: "draining",
      summary: "Liveness, and what the gateway's own Stream connection saw",
      scopes: ["drain"],
      body: { name: "HeartbeatRequest", schema: heartbeatSchema },
      ok: { "200": c.answer("The mode and poll hint.", "HeartbeatAnswer", answers.heartbeatAnswer) },
    }),
    "/v1/{app}/status": operation("get", {
      id: "getStatus",
      tag: "reading",
      summary: "The app's mode, link, consumers, queue, incidents, alerts, outbox and configuration",
      scopes: ["drain", "read"],
      ok: { "200": c.answer("The status document.", "Status", answers.statusAnswer) },
    }),
    "/v1/{app}/events": operation("get", {
      id: "listEvents",
      tag: "reading",
      summary: "History within retention (read-only), oldest first or newest first, optionally filtered",
      scopes: ["read"],
      parameters: queryParameters(historyQuerySchema, {
        ...PAGE,
        order: "`asc`: oldest first; `desc`: the newest `limit` events after `afterSeq`, newest first.",
        conversationId: "Only events of this conversation.",
        msgId: "Only the event with this DingTalk msgId.",
        sender: "Only events from this sender (staffId or senderId).",
      }),
      ok: { "200": c.answer("A page of events.", "EventPage", answers.pageAnswer) },
    }),
    "/v1/{app}/events/replay": operation("post", {
      id: "replayEvents",
      tag: "operating",
      summary: "Hand delivered events out again as new deliveries: by id, or a seq range (both ends included)",
      scopes: ["admin"],
      body: { name: "ReplayRequest", schema: replaySchema },
      ok: { "200": c.answer("How many were queued again, skipped, and where to go on.", "ReplayAnswer", answers.replayAnswer) },
    }),
    "/v1/{app}/diagnose": operation("post", {
      id: "diagnose",
      tag: "operating",
      summary: "Check from the bridge: an access token, the robot permission (a dry call), and with `sink`, the alert sink",
      scopes: ["admin"],
      body: { name: "DiagnoseRequest", schema: diagnoseSchema, optional: true },
      ok: { "200": c.answer("Each check's verdict and detail.", "DiagnoseAnswer", answers.diagnoseAnswer) },
    }),
    "/v1/{app}/dead-letters": operation("get", {
      id: "listDeadLetters",
      tag: "reading",
      summary: "Dead letters, oldest first",
      scopes: ["read"],
      parameters: queryParameters(pageQuerySchema, PAGE),
      ok: { "200": c.answer("A page of dead letters.", "EventPage", answers.pageAnswer) },
    }),
    "/v1/{app}/dead-letters/redrive": operation("post", {
      id: "redriveDeadLetters",
      tag: "operating",
      summary: "Dead letters back into the queue with fresh attempts: the named ids, or all",
      scopes: ["admin"],
      body: { name: "RedriveRequest", schema: redriveSchema, optional: true },
      ok: { "200": c.answer("How many came back.", "RedriveAnswer", answers.redriveAnswer) },
    }),
    "/v1/{app}/dead-letters/purge": operation("post", {
      id: "purgeDeadLetters",
      tag: "operating",
      summary: "Delete dead letters for good: the named ids, or all",
      scopes: ["admin"],
      body: { name: "PurgeRequest", schema: purgeSchema },
      ok: { "200": c.answer("How many were deleted.", "PurgeAnswer", answers.purgeAnswer) },
    }),
    "/v1/{app}/send": operation("post", {
      id: "send",
      tag: "sending",
      summary: "Send as the robot, once per key: a reply, or a message to a conversation or users",
      scopes: ["send"],
      body: { name: "SendRequest", schema: sendSchema },
      ok: {
        "200": c.answer("DingTalk took it.", "SendSent", answers.sendSent),
        "202": c.answer("DingTalk cannot be reached now: kept in the outbox and retried for 24 h.", "SendQueued", answers.sendQueued),
      },
      errors: {
        "400": c.error("invalid_body and the like; not_a_robot_message, cannot_reply: `replyTo` names an event that cannot be answered."),
        "404": c.error("unknown_event: `replyTo` names no stored event."),
        "409": c.error("key_conflict: the key names a different message; send_cancelled: an operator cancelled this key's send."),
        "502": c.error(
          "dingtalk_refused: DingTalk refused the message (its code and message included); dingtalk_unreachable: given up after 24 h.",
        ),
      },
    }),
    "/v1/{app}/send/{key}": operation("get", {
      id: "getSend",
      tag: "sending",
      summary: "What became of a send",
      scopes: ["send", "read"],
      parameters: [pathParameter("key", "The send's idempotency key.", sendKey)],
      ok: { "200": c.answer("Its state.", "SendFate", answers.sendFate) },
      errors: { "404": c.error("unknown_send: no send with this key within retention.") },
    }),
    "/v1/{app}/outbox": operation("get", {
      id: "listOutbox",
      tag: "reading",
      summary: "Sends, newest first, optionally of one state",
      scopes: ["read"],
      parameters: queryParameters(outboxQuerySchema, {
        state: "Only sends in this state.",
        limit: "At most this many sends.",
      }),
      ok: { "200": c.answer("The sends.", "OutboxAnswer", answers.outboxAnswer) },
    }),
    "/v1/{app}/outbox/cancel": operation("post", {
      id: "cancelSends",
      tag: "operating",
      summary: "Give up queued sends: they are never sent, and their keys answer 409 send_cancelled",
      scopes: ["admin"],
      body: { name: "CancelRequest", schema: cancelSchema },
      ok: { "200": c.answer("The keys cancelled, and those that were not queued.", "CancelAnswer", answers.cancelAnswer) },
    }),
  };
}
