// Sending as the robot through the consumer API: once per key, and what became of a key. The outbox
// answers with an outcome; this is where each outcome becomes a status.
import type { Context } from "hono";
import { Hono } from "hono/tiny";
import { newId } from "../../lib/ids";
import type { SendOutcome } from "../../outbox/outbox";
import { cancelSchema, outboxQuerySchema, sendKey, sendSchema } from "../consumer-schemas";
import type { BridgeEnv } from "../context";
import { errorBody, errorResponse } from "../errors";
import { inboxFor } from "../inbox-stub";
import { needs } from "../middleware";
import { parseWith, readBody } from "../read-json";

export const sendRoutes = new Hono<BridgeEnv>();

/** 200 sent, 202 queued for retries, 502 refused by DingTalk or given up, 409 a key reused for another message. */
sendRoutes.post("/v1/:app/send", needs("send"), async (c) => {
  const { key, ...request } = await readBody(c, sendSchema);
  return answer(c, await inboxFor(c).send(key ?? newId("snd"), request));
});

sendRoutes.get("/v1/:app/send/:key", needs("send", "read"), async (c) => {
  const key = parseWith(sendKey, c.req.param("key"), "invalid_key");
  const fate = await inboxFor(c).sendFate(key);
  if (!fate) return errorResponse(c, 404, "unknown_send", `no send with key "${key}" within retention`);
  return c.json(fate);
});

sendRoutes.get("/v1/:app/outbox", needs("read"), async (c) => {
  const { state, limit } = parseWith(outboxQuerySchema, c.req.query(), "invalid_query");
  return c.json({ sends: await inboxFor(c).outbox(state, limit) });
});

sendRoutes.post("/v1/:app/outbox/cancel", needs("admin"), async (c) => {
  const { keys } = await readBody(c, cancelSchema);
  return c.json(await inboxFor(c).cancelSends(keys));
});

function answer(c: Context<BridgeEnv>, o: SendOutcome): Response {
  switch (o.kind) {
    case "sent":
      return c.json({ via: o.via, state: "sent", key: o.key });
    case "queued":
      return c.json({ state: "queued", key: o.key, retryAt: o.retryAt }, 202);
    case "refused":
      return c.json(
        {
          error: {
            code: "dingtalk_refused",
            message: `DingTalk refused the message: ${o.reason}`,
            dingtalkCode: o.dingtalkCode,
            dingtalkMessage: o.dingtalkMessage,
            key: o.key,
          },
        },
        502,
      );
    case "failed":
      return c.json(
        { error: { code: "dingtalk_unreachable", message: `DingTalk could not be reached for 24 hours: ${o.reason}`, key: o.key } },
        502,
      );
    case "impossible":
      return c.json(errorBody(o.why, o.reason), o.why === "unknown_event" ? 404 : 400);
    case "cancelled":
      return c.json(errorBody("send_cancelled", `the send with key "${o.key}" was cancelled by an operator; nothing was sent`), 409);
    case "key_conflict":
      return c.json(errorBody("key_conflict", `the key "${o.key}" already names a different message; nothing was sent`), 409);
  }
}
