// The consumer API under /v1/:app, for gateways that drain the inbox.
import type { Context, MiddlewareHandler } from "hono";
import { Hono } from "hono/tiny";
import type { StoredEventRow } from "../../inbox/event-store";
import type { PullResult } from "../../inbox/types";
import { newId } from "../../lib/ids";
import type { SendAnswer } from "../../outbox/outbox";
import {
  ackSchema,
  extendSchema,
  heartbeatSchema,
  historyQuerySchema,
  nackSchema,
  pageQuerySchema,
  pullSchema,
  purgeSchema,
  redriveSchema,
  sendKey,
  sendSchema,
} from "../consumer-schemas";
import type { BridgeEnv } from "../context";
import { errorResponse } from "../errors";
import { eventsDocument, leasedEventJson, storedEventJson } from "../event-json";
import { inboxFor } from "../inbox-stub";
import { consumerAuth, limitBody, MAX_CONSUMER_BODY_BYTES } from "../middleware";
import { parseWith, readBody } from "../read-json";
import { robotUrlFor } from "../robot-url";

/** Answers carry message payloads: no browser or proxy keeps a copy. */
const noStore: MiddlewareHandler<BridgeEnv> = async (c, next) => {
  await next();
  c.res.headers.set("cache-control", "no-store");
};

export const consumerRoutes = new Hono<BridgeEnv>();

consumerRoutes.use("/v1/:app/*", consumerAuth, limitBody(MAX_CONSUMER_BODY_BYTES), noStore);

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

const OFF_LINK = { state: "off", connectedAt: null, lastFrameAt: null, lastMessageAt: null, opens: [], lastError: null };

consumerRoutes.post("/v1/:app/pull", async (c) => {
  const body = await readBody(c, pullSchema, true);
  const app = c.get("app").name;
  const inbox = inboxFor(c, app);
  // When the client goes away mid-poll, the poll must not take events for it: the request's end
  // cancels the poll, and gives back whatever it was handed a moment too late.
  const pollId = newId("poll");
  const signal = c.req.raw.signal;
  const cancel = () => c.executionCtx.waitUntil(inbox.cancelPull(app, pollId));
  signal.addEventListener("abort", cancel, { once: true });
  let result: PullResult;
  try {
    result = await inbox.pull({ app, ...body, pollId, robotUrl: robotUrlFor(c) });
  } finally {
    signal.removeEventListener("abort", cancel);
  }
  const doc = eventsDocument(result.events.map(leasedEventJson), {
    mode: result.mode,
    pollHintMs: result.pollHintMs,
    released: result.released,
    leaseMs: result.leaseMs,
  });
  return c.body(doc, 200, JSON_HEADERS);
});

consumerRoutes.post("/v1/:app/ack", async (c) => {
  const { leaseIds } = await readBody(c, ackSchema);
  const app = c.get("app").name;
  return c.json(await inboxFor(c, app).ack(app, leaseIds));
});

consumerRoutes.post("/v1/:app/nack", async (c) => {
  const body = await readBody(c, nackSchema);
  const app = c.get("app").name;
  return c.json(await inboxFor(c, app).nack(app, body.leaseIds, body.delayMs, body.reason));
});

consumerRoutes.post("/v1/:app/extend", async (c) => {
  const body = await readBody(c, extendSchema);
  const app = c.get("app").name;
  return c.json(await inboxFor(c, app).extend(app, body.leaseIds, body.leaseMs));
});

consumerRoutes.post("/v1/:app/heartbeat", async (c) => {
  const body = await readBody(c, heartbeatSchema);
  const app = c.get("app").name;
  return c.json(await inboxFor(c, app).heartbeat({ app, consumer: body.consumer, stream: body.stream }));
});

consumerRoutes.get("/v1/:app/status", async (c) => {
  const app = c.get("app");
  const [status, link] = await Promise.all([
    inboxFor(c, app.name).status(app.name),
    app.streamLink ? c.env.LINKS.getByName(app.name).status() : OFF_LINK,
  ]);
  return c.json({ ...(status as Record<string, unknown>), link });
});

/**
 * History and dead letters: read-only pages of stored events, oldest first. History also reads
 * newest first (`order=desc`: the newest `limit` events after `afterSeq`), so a view of what came
 * in last costs one request; either way `nextAfterSeq` is the newest seq on the page.
 */
function page(c: Context<BridgeEnv>, rows: StoredEventRow[], afterSeq: number, newestFirst: boolean) {
  const nextAfterSeq = rows.length ? rows[newestFirst ? 0 : rows.length - 1]!.seq : afterSeq;
  return c.body(eventsDocument(rows.map(storedEventJson), { nextAfterSeq }), 200, JSON_HEADERS);
}

consumerRoutes.get("/v1/:app/events", async (c) => {
  const { afterSeq, limit, order } = parseWith(historyQuerySchema, c.req.query(), "invalid_query");
  const app = c.get("app").name;
  return page(c, await inboxFor(c, app).history(app, afterSeq, limit, order === "desc"), afterSeq, order === "desc");
});

consumerRoutes.get("/v1/:app/dead-letters", async (c) => {
  const { afterSeq, limit } = parseWith(pageQuerySchema, c.req.query(), "invalid_query");
  const app = c.get("app").name;
  return page(c, await inboxFor(c, app).deadLetters(app, afterSeq, limit), afterSeq, false);
});

consumerRoutes.post("/v1/:app/dead-letters/redrive", async (c) => {
  const { ids } = await readBody(c, redriveSchema, true);
  const app = c.get("app").name;
  return c.json(await inboxFor(c, app).redrive(app, ids ?? null));
});

consumerRoutes.post("/v1/:app/dead-letters/purge", async (c) => {
  const { ids } = await readBody(c, purgeSchema);
  const app = c.get("app").name;
  return c.json(await inboxFor(c, app).purge(app, ids ?? null));
});

/** Sends as the robot, once per key: 200 sent, 202 queued for retries, 502 refused by DingTalk. */
consumerRoutes.post("/v1/:app/send", async (c) => {
  const { key, ...request } = await readBody(c, sendSchema);
  const app = c.get("app").name;
  // The RPC types cannot see through the answer's free-form JSON body; it is a SendAnswer.
  const answer = (await inboxFor(c, app).send(app, key ?? newId("snd"), request)) as unknown as SendAnswer;
  return c.json(answer.body, answer.status);
});

consumerRoutes.get("/v1/:app/send/:key", async (c) => {
  const key = parseWith(sendKey, c.req.param("key"), "invalid_key");
  const app = c.get("app").name;
  const fate = await inboxFor(c, app).sendFate(app, key);
  if (!fate) return errorResponse(c, 404, "unknown_send", `no send with key "${key}" within retention`);
  return c.json(fate);
});
