// Shared request plumbing: config, the app named in the path, body limits, and consumer auth.
import type { Context, MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import { APP_NAME, type AppConfig } from "../config/apps";
import { type BridgeConfig, loadConfig } from "../config/load";
import type { ConsumerToken, Scope } from "../config/tokens";
import { log } from "../lib/log";
import { secretMatcher } from "../lib/secret-match";
import { wakeLink } from "../stream/link-wake";
import type { BridgeEnv } from "./context";
import { errorBody, errorResponse, HttpError } from "./errors";
import { inboxFor } from "./inbox-stub";

export const MAX_CALLBACK_BYTES = 1024 * 1024;
export const MAX_CONSUMER_BODY_BYTES = 256 * 1024;

/**
 * The app named `name`. A broken app (or an unreadable BRIDGE_APPS) answers 503 for itself alone,
 * telling a caller nothing of which setting is wrong: the operator finds that in the logs and in the
 * `config_error` line they carry.
 */
function lookup(config: BridgeConfig, name: string): AppConfig | undefined {
  if (!APP_NAME.test(name)) return undefined;
  const app = config.apps.get(name);
  if (app) return app;
  if (config.brokenApps.has(name) || config.brokenApps.has("*")) {
    throw new HttpError(503, "bridge_misconfigured", `app "${name}" is not configured correctly; the bridge's logs name the setting`);
  }
  return undefined;
}

/** DingTalk's routes: loads the (cached) config and resolves `:app`; unknown apps answer 404. */
export const resolveApp: MiddlewareHandler<BridgeEnv> = async (c, next) => {
  const config = loadConfig(c.env);
  const name = c.req.param("app") ?? "";
  const app = lookup(config, name);
  if (!app) return errorResponse(c, 404, "unknown_app", `no app named "${name.slice(0, 40)}" is configured`);
  c.set("config", config);
  c.set("app", app);
  wakeLink(c.env, c.executionCtx, app);
  await next();
};

/**
 * DingTalk's routes: a callback refused with a 4xx is reported to the app's inbox by its code, off
 * the request's path, so refusals are counted and a run of them raises an incident.
 */
export const reportRejections: MiddlewareHandler<BridgeEnv> = async (c, next) => {
  await next();
  const status = c.res.status;
  if (status < 400 || status >= 500) return;
  const code = c.error instanceof HttpError ? c.error.code : status === 413 ? "body_too_large" : `http_${status}`;
  c.executionCtx.waitUntil(
    inboxFor(c)
      .rejected(code)
      .catch((error: unknown) => log("warn", "rejection_not_reported", { app: c.get("app").name, code, error: String(error) })),
  );
};

export function limitBody(maxSize: number): MiddlewareHandler<BridgeEnv> {
  return bodyLimit({
    maxSize,
    onError: (c) => errorResponse(c, 413, "body_too_large", `the body is larger than ${maxSize} bytes`),
  });
}

const authByApp = new WeakMap<AppConfig, MiddlewareHandler<BridgeEnv>>();

/**
 * Checks the bearer token against each of the app's tokens in constant time (secretMatcher), and
 * keeps the scopes of the one that matched.
 */
function authFor(tokens: readonly ConsumerToken[]): MiddlewareHandler<BridgeEnv> {
  const match = secretMatcher(tokens, (t) => t.token);
  return bearerAuth<BridgeEnv>({
    verifyToken: async (given, c) => {
      const matched = match(given);
      if (matched) c.set("scopes", matched.scopes);
      return matched !== undefined;
    },
    noAuthenticationHeader: { message: authError("missing_token", "send Authorization: Bearer <consumer token>") },
    invalidAuthenticationHeader: {
      message: authError("bad_authorization", "the Authorization header must be Bearer <token>"),
    },
    invalidToken: { message: authError("bad_token", "the token does not open this app's consumer API") },
  });
}

let refuseAll: MiddlewareHandler<BridgeEnv> | undefined;

/**
 * The consumer API: resolves `:app` and checks its token; any one of the app's consumer tokens
 * opens it, compared in constant time.
 */
export const consumerAuth: MiddlewareHandler<BridgeEnv> = async (c, next) => {
  const config = loadConfig(c.env);
  const app = lookup(config, c.req.param("app") ?? "");
  if (!app) {
    // Unknown apps are refused exactly like a wrong token, so app names cannot be probed without
    // one. (The token is random per isolate: Workers allow no randomness at module scope.)
    refuseAll ??= authFor([{ token: crypto.randomUUID(), scopes: [] }]);
    await refuseAll(c, async () => {
      throw new HttpError(401, "bad_token", "the token does not open this app's consumer API");
    });
    return;
  }
  c.set("config", config);
  c.set("app", app);
  let auth = authByApp.get(app);
  if (!auth) {
    auth = authFor(app.consumerTokens);
    authByApp.set(app, auth);
  }
  // The link wakes for a consumer only once the token has opened the app.
  return auth(c, async () => {
    wakeLink(c.env, c.executionCtx, app);
    await next();
  });
};

/**
 * A route that needs one of `scopes`: a token without it is refused with 403 `scope_refused`,
 * naming what the route needs and what the token may do.
 */
export function needs(...scopes: Scope[]): MiddlewareHandler<BridgeEnv> {
  return async (c, next) => {
    const has = c.get("scopes") ?? [];
    if (!scopes.some((s) => has.includes(s))) {
      throw new HttpError(
        403,
        "scope_refused",
        `this route needs the ${scopes.join(" or ")} scope; this token has ${has.join(", ") || "none"}`,
      );
    }
    await next();
  };
}

/** Answers carry message payloads: no browser or proxy keeps a copy. */
const noStore: MiddlewareHandler<BridgeEnv> = async (c, next) => {
  await next();
  c.res.headers.set("cache-control", "no-store");
};

/** Every consumer API route: the app and its token, the body limit, and no caching. */
export const consumerApi = [consumerAuth, limitBody(MAX_CONSUMER_BODY_BYTES), noStore] as const;

function authError(code: string, message: string) {
  return (_c: Context) => errorBody(code, message);
}
