// Shared request plumbing: config, the app named in the path, body limits, and consumer auth.
import type { Context, MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import { APP_NAME, type AppConfig } from "../config/apps";
import { loadConfig } from "../config/load";
import type { BridgeEnv } from "./context";
import { errorBody, errorResponse } from "./errors";

export const MAX_CALLBACK_BYTES = 1024 * 1024;
export const MAX_CONSUMER_BODY_BYTES = 256 * 1024;

/** Loads the (cached) config and resolves `:app`; unknown apps answer 404. */
export const resolveApp: MiddlewareHandler<BridgeEnv> = async (c, next) => {
  const config = loadConfig(c.env);
  const name = c.req.param("app") ?? "";
  const app = APP_NAME.test(name) ? config.apps.get(name) : undefined;
  if (!app) return errorResponse(c, 404, "unknown_app", `no app named "${name.slice(0, 40)}" is configured`);
  c.set("config", config);
  c.set("app", app);
  await next();
};

export function limitBody(maxSize: number): MiddlewareHandler<BridgeEnv> {
  return bodyLimit({
    maxSize,
    onError: (c) => errorResponse(c, 413, "body_too_large", `the body is larger than ${maxSize} bytes`),
  });
}

const authByApp = new WeakMap<AppConfig, MiddlewareHandler<BridgeEnv>>();

/** Any one of the app's consumer tokens opens its consumer API; Hono compares in constant time. */
export const consumerAuth: MiddlewareHandler<BridgeEnv> = async (c, next) => {
  const app = c.get("app");
  let auth = authByApp.get(app);
  if (!auth) {
    auth = bearerAuth<BridgeEnv>({
      token: app.consumerTokens,
      noAuthenticationHeader: { message: authError("missing_token", "send Authorization: Bearer <consumer token>") },
      invalidAuthenticationHeader: {
        message: authError("bad_authorization", "the Authorization header must be Bearer <token>"),
      },
      invalidToken: { message: authError("bad_token", "the token does not open this app's consumer API") },
    });
    authByApp.set(app, auth);
  }
  return auth(c, next);
};

function authError(code: string, message: string) {
  return (_c: Context) => errorBody(code, message);
}
