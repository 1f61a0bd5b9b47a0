// POST /dingtalk/:app/robot: a robot message callback in HTTP mode (dingtalk-protocol.md section 1).
import { Hono } from "hono";
import { checkRobotSign } from "../../dingtalk/robot-sign";
import { robotMessageSchema } from "../../dingtalk/robot-message";
import type { BridgeEnv } from "../context";
import { BridgeError } from "../errors";
import { limitBody, MAX_CALLBACK_BYTES, resolveApp } from "../middleware";
import { parseWith, readJsonText } from "../read-json";
import { inboxFor } from "../inbox-stub";

export const robotRoutes = new Hono<BridgeEnv>();

robotRoutes.post("/dingtalk/:app/robot", resolveApp, limitBody(MAX_CALLBACK_BYTES), async (c) => {
  const app = c.get("app");
  const check = await checkRobotSign({
    secret: app.clientSecret,
    timestamp: c.req.header("timestamp"),
    sign: c.req.header("sign"),
    nowMs: Date.now(),
    windowMs: c.get("config").tunables.signWindowMs,
  });
  if (!check.ok) throw new BridgeError(401, check.code, check.message);

  const { text, value } = await readJsonText(c);
  const message = parseWith(robotMessageSchema, value, "invalid_body");
  const result = await inboxFor(c, app.name).ingest({
    app: app.name,
    kind: "robot",
    dedupKey: `robot:${message.msgId}`,
    payload: text,
    conversationId: message.conversationId ?? null,
    msgId: message.msgId,
  });
  if (result.offlineReply) return c.json({ msgtype: "text", text: { content: result.offlineReply } });
  return c.json({ msgtype: "empty" });
});
