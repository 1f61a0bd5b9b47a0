// The consumer API under /v1/:app, for gateways that drain the inbox (its middleware: app.ts).
import type { Context } from "hono";
import { Hono } from "hono/tiny";
import type { StoredEventRow } from "../../inbox/event-row";
import type { PullResult } from "../../inbox/types";
import { newId } from "../../lib/ids";
import {
  ackSchema,
  diagnoseSchema,
  extendSchema,
  heartbeatSchema,
  historyQuerySchema,
  nackSchema,
  pageQuerySchema,
  pullSchema,
  purgeSchema,
  redriveSchema,
  replaySchema,
} from "../consumer-schemas";
import type { BridgeEnv } from "../context";
import { eventsDocument, storedEventJson } from "../event-json";
import { inboxFor } from "../inbox-stub";
import { needs } from "../middleware";
import { parseWith, readBody } from "../read-json";
import { robotUrlFor } from "../robot-url";

export const consumerRoutes = new Hono<BridgeEnv>();

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

const OFF_LINK = { state: "off", connectedAt: null, lastFrameAt: null, lastMessageAt: null, opens: [], lastError: null };

consumerRoutes.post("/v1/:app/pull", needs("drain"), async (c) => {
  const body = await readBody(c, pullSchema, true);
  const inbox = inboxFor(c);
  // When the client goes away mid-poll, the poll must not take events for it: the request's end
  // cancels the poll, and gives back whatever it was handed a moment too late.
  const pollId = newId("poll");
  const signal = c.req.raw.signal;
  const cancel = () => c.executionCtx.waitUntil(inbox.cancelPull(pollId));
  signal.addEventListener("abort", cancel, { once: true });
  let result: PullResult;
  try {
    result = await inbox.pull({ ...body, pollId, robotUrl: robotUrlFor(c) });
  } finally {
    signal.removeEventListener("abort", cancel);
  }
  const doc = eventsDocument(result.events, {
    mode: result.mode,
    pollHintMs: result.pollHintMs,
    released: result.released,
    leaseMs: result.leaseMs,
  });
  return c.body(doc, 200, JSON_HEADERS);
});

consumerRoutes.post("/v1/:app/ack", needs("drain"), async (c) => {
  const { leaseIds } = await readBody(c, ackSchema);
  return c.json(await inboxFor(c).ack(leaseIds));
});

consumerRoutes.post("/v1/:app/nack", needs("drain"), async (c) => {
  const body = await readBody(c, nackSchema);
  return c.json(await inboxFor(c).nack(body.leaseIds, body.delayMs, body.reason));
});

consumerRoutes.post("/v1/:app/extend", needs("drain"), async (c) => {
  const body = await readBody(c, extendSchema);
  return c.json(await inboxFor(c).extend(body.leaseIds, body.leaseMs));
});

consumerRoutes.post("/v1/:app/heartbeat", needs("drain"), async (c) => {
  const body = await readBody(c, heartbeatSchema);
  return c.json(await inboxFor(c).heartbeat({ consumer: body.consumer, stream: body.stream }));
});

consumerRoutes.get("/v1/:app/status", needs("drain", "read"), async (c) => {
  const app = c.get("app");
  const [status, link] = await Promise.all([inboxFor(c).status(), app.streamLink ? c.env.LINKS.getByName(app.name).status() : OFF_LINK]);
  // The RPC types cannot see through the status document; it is a plain object.
  const doc = status as Record<string, unknown>;
  // With PUBLIC_URL set, the robot URL is known before any callback or pull has stored one.
  const robotUrl = c.get("config").publicUrl ? robotUrlFor(c) : doc.robotUrl;
  return c.json({ ...doc, robotUrl, link, token: { scopes: c.get("scopes") } });
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

consumerRoutes.get("/v1/:app/events", needs("read"), async (c) => {
  const { afterSeq, limit, order, ...filter } = parseWith(historyQuerySchema, c.req.query(), "invalid_query");
  return page(c, await inboxFor(c).history(afterSeq, limit, order === "desc", filter), afterSeq, order === "desc");
});

consumerRoutes.post("/v1/:app/events/replay", needs("admin"), async (c) => {
  const body = await readBody(c, replaySchema);
  return c.json(await inboxFor(c).replay(body));
});

/** For `dtbridge doctor`: DingTalk and the alert sink, checked from the bridge itself. */
consumerRoutes.post("/v1/:app/diagnose", needs("admin"), async (c) => {
  const { sink } = await readBody(c, diagnoseSchema, true);
  return c.json(await inboxFor(c).diagnose({ sink }));
});

consumerRoutes.get("/v1/:app/dead-letters", needs("read"), async (c) => {
  const { afterSeq, limit } = parseWith(pageQuerySchema, c.req.query(), "invalid_query");
  return page(c, await inboxFor(c).deadLetters(afterSeq, limit), afterSeq, false);
});

consumerRoutes.post("/v1/:app/dead-letters/redrive", needs("admin"), async (c) => {
  const { ids } = await readBody(c, redriveSchema, true);
  return c.json(await inboxFor(c).redrive(ids ?? null));
});

consumerRoutes.post("/v1/:app/dead-letters/purge", needs("admin"), async (c) => {
  const { ids } = await readBody(c, purgeSchema);
  return c.json(await inboxFor(c).purge(ids ?? null));
});
