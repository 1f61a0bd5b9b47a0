// POST /dingtalk/:app/robot: a robot message callback in HTTP mode (docs/dingtalk-protocol.md §1).
import { Hono } from "hono/tiny";
import { SIGN_FUTURE_SKEW_MS } from "../../config/tunables";
import { readRobotMessage } from "../../dingtalk/robot-message";
import { checkRobotSign } from "../../dingtalk/robot-sign";
import { robotIngestRequest } from "../../inbox/robot-ingest";
import type { BridgeEnv } from "../context";
import { HttpError } from "../errors";
import { inboxFor } from "../inbox-stub";
import { limitBody, MAX_CALLBACK_BYTES, reportRejections, resolveApp } from "../middleware";
import { readText } from "../read-json";
import { robotUrlFor } from "../robot-url";

export const robotRoutes = new Hono<BridgeEnv>();

robotRoutes.post("/dingtalk/:app/robot", resolveApp, reportRejections, limitBody(MAX_CALLBACK_BYTES), async (c) => {
  const app = c.get("app");
  const timestamp = c.req.header("timestamp");
  const check = await checkRobotSign({
    secret: app.clientSecret,
    timestamp,
    sign: c.req.header("sign"),
    nowMs: Date.now(),
    windowMs: c.get("config").tunables.signWindowMs,
    futureSkewMs: SIGN_FUTURE_SKEW_MS,
  });
  if (!check.ok) throw new HttpError(401, check.code, check.message);

  const text = await readText(c);
  const read = readRobotMessage(text);
  if (!read.ok) throw new HttpError(400, read.code, read.message);
  const result = await inboxFor(c).ingest({
    ...robotIngestRequest("webhook", text, read.message),
    signTimestamp: timestamp,
    robotUrl: robotUrlFor(c),
  });
  if (result.refused === "sign_reused") {
    throw new HttpError(401, "sign_reused", "this timestamp and sign already carried another message");
  }
  if (result.offlineReply) return c.json({ msgtype: "text", text: { content: result.offlineReply } });
  return c.json({ msgtype: "empty" });
});
