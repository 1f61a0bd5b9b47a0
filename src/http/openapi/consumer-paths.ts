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

type Tag = "draining" | "sending" | "reading" | "operating";
type Answer = [description: string, name: string, schema: z.ZodMiniType];

const PAGE = {
  afterSeq: "Events with a seq above this one; `nextAfterSeq` of the previous page.",
  limit: "At most this many events.",
};

const HISTORY = {
  ...PAGE,
  order: "`asc`: oldest first; `desc`: the newest `limit` events after `afterSeq`, newest first.",
  conversationId: "Only events of this conversation.",
  msgId: "Only the event with this DingTalk msgId.",
  sender: "Only events from this sender (staffId or senderId).",
};

/**
 * One operation, written as a chain: `post`/`get` and `summary` name it, then come what it takes
 * (body, query, path parameter) and the answers and errors of its own, and `ok` ends the chain with
 * its 200 answer and gives the document's path item, which adds the errors every consumer route
 * can answer.
 */
class ConsumerOperation {
  private body?: { name: string; schema: z.ZodMiniType; required: boolean };
  private readonly parameters: Json[] = [];
  private readonly ownErrors: Record<string, string> = {};
  private acceptedAnswer?: Answer;

  constructor(
    private readonly c: Components,
    private readonly appParameter: Json,
    private readonly method: "get" | "post",
    /** `scopes`: any one of them opens the route. */
    private readonly head: { id: string; tag: Tag; scopes: Scope[]; summary: string },
  ) {}

  /** A required JSON body. */
  takes(name: string, schema: z.ZodMiniType): this {
    this.body = { name, schema, required: true };
    return this;
  }

  /** A JSON body that may be left out (read as `{}`). */
  mayTake(name: string, schema: z.ZodMiniType): this {
    this.body = { name, schema, required: false };
    return this;
  }

  query(schema: z.ZodMiniObject, descriptions: Record<string, string>): this {
    this.parameters.push(...queryParameters(schema, descriptions));
    return this;
  }

  pathParameter(name: string, description: string, schema: z.ZodMiniType): this {
    this.parameters.push(pathParameter(name, description, schema));
    return this;
  }

  /** The 202 answer: taken, but not done yet. */
  accepted(...answer: Answer): this {
    this.acceptedAnswer = answer;
    return this;
  }

  /** An error answer of this route's own; one with a common status (400) replaces the common one. */
  error(status: string, description: string): this {
    this.ownErrors[status] = description;
    return this;
  }

  /** The 200 answer; gives the path item. */
  ok(...answer: Answer): Json {
    const { c, method, head } = this;
    // Answers first, then the body: the order the document's component schemas are listed in.
    const okAnswers = {
      "200": c.answer(...answer),
      ...(this.acceptedAnswer ? { "202": c.answer(...this.acceptedAnswer) } : {}),
    };
    const errors = Object.fromEntries(Object.entries(this.ownErrors).map(([status, description]) => [status, c.error(description)]));
    return {
      [method]: {
        operationId: head.id,
        summary: head.summary,
        description: `Needs a consumer token with the ${head.scopes.map((s) => `\`${s}\``).join(" or ")} scope.`,
        tags: [head.tag],
        // OpenAPI 3.1 lets a bearer requirement name roles: the scopes, any one of which will do.
        security: head.scopes.map((s) => ({ bearer: [s] })),
        parameters: [this.appParameter, ...this.parameters],
        ...(this.body ? { requestBody: c.body(this.body.name, this.body.schema, this.body.required) } : {}),
        responses: {
          ...okAnswers,
          "400": c.error(
            "invalid_body, invalid_query, invalid_json, invalid_utf8, too_deep, bad_authorization: the request is malformed; the message names the field.",
          ),
          "401": c.error("missing_token, bad_token: no token, or one that does not open this app (an unknown app answers the same)."),
          "403": c.error("scope_refused: the token lacks the scope this route needs; the message names it and the token's scopes."),
          ...(method === "post" ? { "413": c.error("body_too_large: the body is larger than 256 KiB.") } : {}),
          ...errors,
          "503": c.error(
            "bridge_misconfigured: the app's settings are broken (the bridge's logs name the setting); bridge_outdated: the app's storage was written by a newer bridge (a rollback after an upgrade).",
          ),
        },
      },
    };
  }
}

export function consumerPaths(c: Components, appParameter: Json): Record<string, Json> {
  // `summary` comes on a line of its own, after the name: most summaries would not fit on that line.
  const named = (method: "get" | "post") => (id: string, tag: Tag, scopes: Scope[]) => ({
    summary: (summary: string) => new ConsumerOperation(c, appParameter, method, { id, tag, scopes, summary }),
  });
  const post = named("post");
  const get = named("get");

  return {
    "/v1/{app}/pull": post("pull", "draining", ["drain"])
      .summary("Lease up to `max` ready events, oldest first; with `waitMs`, a long poll")
      .mayTake("PullRequest", pullSchema)
      .ok("The leased events, the mode and the poll hint.", "PullAnswer", answers.pullAnswer),
    "/v1/{app}/ack": post("ack", "draining", ["drain"])
      .summary("Complete leased events")
      .takes("AckRequest", ackSchema)
      .ok("Acked, and stale lease ids.", "AckAnswer", answers.ackAnswer),
    "/v1/{app}/nack": post("nack", "draining", ["drain"])
      .summary("Return leased events to the queue")
      .takes("NackRequest", nackSchema)
      .ok("Requeued, dead-lettered, and stale lease ids.", "NackAnswer", answers.nackAnswer),
    "/v1/{app}/extend": post("extend", "draining", ["drain"])
      .summary("Keep events leased longer")
      .takes("ExtendRequest", extendSchema)
      .ok("Extended lease ids and the new expiry.", "ExtendAnswer", answers.extendAnswer),
    "/v1/{app}/heartbeat": post("heartbeat", "draining", ["drain"])
      .summary("Liveness, and what the gateway's own Stream connection saw")
      .takes("HeartbeatRequest", heartbeatSchema)
      .ok("The mode and poll hint.", "HeartbeatAnswer", answers.heartbeatAnswer),
    "/v1/{app}/status": get("getStatus", "reading", ["drain", "read"])
      .summary("The app's mode, link, consumers, queue, incidents, alerts, outbox and configuration")
      .ok("The status document.", "Status", answers.statusAnswer),
    "/v1/{app}/events": get("listEvents", "reading", ["read"])
      .summary("History within retention (read-only), oldest first or newest first, optionally filtered")
      .query(historyQuerySchema, HISTORY)
      .ok("A page of events.", "EventPage", answers.pageAnswer),
    "/v1/{app}/events/replay": post("replayEvents", "operating", ["admin"])
      .summary("Hand delivered events out again as new deliveries: by id, or a seq range (both ends included)")
      .takes("ReplayRequest", replaySchema)
      .ok("How many were queued again, skipped, and where to go on.", "ReplayAnswer", answers.replayAnswer),
    "/v1/{app}/diagnose": post("diagnose", "operating", ["admin"])
      .summary("Check from the bridge: an access token, the robot permission (a dry call), and with `sink`, the alert sink")
      .mayTake("DiagnoseRequest", diagnoseSchema)
      .ok("Each check's verdict and detail.", "DiagnoseAnswer", answers.diagnoseAnswer),
    "/v1/{app}/dead-letters": get("listDeadLetters", "reading", ["read"])
      .summary("Dead letters, oldest first")
      .query(pageQuerySchema, PAGE)
      .ok("A page of dead letters.", "EventPage", answers.pageAnswer),
    "/v1/{app}/dead-letters/redrive": post("redriveDeadLetters", "operating", ["admin"])
      .summary("Dead letters back into the queue with fresh attempts: the named ids, or all")
      .mayTake("RedriveRequest", redriveSchema)
      .ok("How many came back.", "RedriveAnswer", answers.redriveAnswer),
    "/v1/{app}/dead-letters/purge": post("purgeDeadLetters", "operating", ["admin"])
      .summary("Delete dead letters for good: the named ids, or all")
      .takes("PurgeRequest", purgeSchema)
      .ok("How many were deleted.", "PurgeAnswer", answers.purgeAnswer),
    "/v1/{app}/send": post("send", "sending", ["send"])
      .summary("Send as the robot, once per key: a reply, or a message to a conversation or users")
      .takes("SendRequest", sendSchema)
      .accepted("DingTalk cannot be reached now: kept in the outbox and retried for 24 h.", "SendQueued", answers.sendQueued)
      .error("400", "invalid_body and the like; not_a_robot_message, cannot_reply: `replyTo` names an event that cannot be answered.")
      .error("404", "unknown_event: `replyTo` names no stored event.")
      .error("409", "key_conflict: the key names a different message; send_cancelled: an operator cancelled this key's send.")
      .error(
        "502",
        "dingtalk_refused: DingTalk refused the message (its code and message included); dingtalk_unreachable: given up after 24 h.",
      )
      .ok("DingTalk took it.", "SendSent", answers.sendSent),
    "/v1/{app}/send/{key}": get("getSend", "sending", ["send", "read"])
      .summary("What became of a send")
      .pathParameter("key", "The send's idempotency key.", sendKey)
      .error("404", "unknown_send: no send with this key within retention.")
      .ok("Its state.", "SendFate", answers.sendFate),
    "/v1/{app}/outbox": get("listOutbox", "reading", ["read"])
      .summary("Sends, newest first, optionally of one state")
      .query(outboxQuerySchema, { state: "Only sends in this state.", limit: "At most this many sends." })
      .ok("The sends.", "OutboxAnswer", answers.outboxAnswer),
    "/v1/{app}/outbox/cancel": post("cancelSends", "operating", ["admin"])
      .summary("Give up queued sends: they are never sent, and their keys answer 409 send_cancelled")
      .takes("CancelRequest", cancelSchema)
      .ok("The keys cancelled, and those that were not queued.", "CancelAnswer", answers.cancelAnswer),
  };
}
