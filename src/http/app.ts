// The Worker's HTTP surface: DingTalk ingress, the consumer API, the console and the OpenAPI
// document, and one error shape for all.

import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { Hono } from "hono/tiny";
import { ConfigError } from "../config/load";
import { SCHEMA_TOO_NEW } from "../lib/migrate";
import type { BridgeEnv } from "./context";
import { errorResponse, HttpError } from "./errors";
import { consumerApi } from "./middleware";
import { consumerRoutes } from "./routes/consumer";
import { eventRoutes } from "./routes/events";
import { healthRoutes } from "./routes/health";
import { robotRoutes } from "./routes/robot";
import { sendRoutes } from "./routes/send";
import { staticRoutes } from "./routes/static";

export const app = new Hono<BridgeEnv>();

app.use(requestId());

app.get("/", (c) =>
  c.json({
    name: "dingtalk-fallback-bridge",
    routes: ["/dingtalk/:app/robot", "/dingtalk/:app/events", "/v1/:app/*", "/health", "/console", "/openapi.json"],
  }),
);
app.route("/", healthRoutes);
app.route("/", robotRoutes);
app.route("/", eventRoutes);
// The consumer API: the app and its token, the body limit and no caching, for every route below /v1.
app.use("/v1/:app/*", ...consumerApi);
app.route("/", consumerRoutes);
app.route("/", sendRoutes);
app.route("/", staticRoutes);

app.notFound((c) => errorResponse(c, 404, "not_found", `no route ${c.req.method} ${new URL(c.req.url).pathname}`));

app.onError((error, c) => {
  if (error instanceof HttpError) return errorResponse(c, error.status, error.code, error.message);
  if (error instanceof HTTPException) {
    // Hono's auth middleware builds its own response, already in our error shape.
    if (error.res) return error.getResponse();
    return errorResponse(c, error.status as 400, "bad_request", error.message || "the request was refused");
  }
  // An object whose storage a newer bridge wrote (a rollback after an upgrade) refuses to run; the
  // error crosses the RPC boundary as its message.
  if (error.message.includes(SCHEMA_TOO_NEW)) return errorResponse(c, 503, "bridge_outdated", error.message);
  if (error instanceof ConfigError) {
    // The operator's mistake, not the caller's: say which setting, never its value.
    console.error(JSON.stringify({ level: "error", requestId: c.get("requestId"), config: error.message }));
    return errorResponse(c, 503, "bridge_misconfigured", error.message);
  }
  console.error(JSON.stringify({ level: "error", requestId: c.get("requestId"), error: error.name, message: error.message }));
  return errorResponse(c, 500, "internal_error", `unexpected failure; request id ${c.get("requestId")}`);
});
