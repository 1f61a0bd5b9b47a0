// The one config loader: parses the Worker's env once per isolate and names any bad setting
// without echoing its value.
import { z } from "zod";
import { type AppConfig, appSchema, bridgeAppsSchema, toAppConfig } from "./apps";
import { type Tunables, toTunables, tunablesSchema } from "./tunables";

export interface BridgeConfig {
  apps: ReadonlyMap<string, AppConfig>;
  tunables: Tunables;
}

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    problem: string,
  ) {
    super(`${setting}: ${problem}`);
    this.name = "ConfigError";
  }
}

const cache = new WeakMap<object, BridgeConfig | ConfigError>();

/** Throws ConfigError; the verdict is cached per env object, so a bad config costs one parse. */
export function loadConfig(env: object): BridgeConfig {
  let result = cache.get(env);
  if (!result) {
    try {
      result = parseConfig(env as Record<string, unknown>);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      result = error;
    }
    cache.set(env, result);
  }
  if (result instanceof ConfigError) throw result;
  return result;
}

export function parseConfig(env: Record<string, unknown>): BridgeConfig {
  const vars = blankToUndefined(env);
  const tunables = tunablesSchema.safeParse(vars);
  if (!tunables.success) throw fromIssue(tunables.error, "");

  const apps = new Map<string, AppConfig>();
  if (vars.BRIDGE_APPS !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(String(vars.BRIDGE_APPS));
    } catch {
      throw new ConfigError("BRIDGE_APPS", "is not valid JSON");
    }
    const parsed = bridgeAppsSchema.safeParse(json);
    if (!parsed.success) throw fromIssue(parsed.error, "BRIDGE_APPS");
    for (const [name, app] of Object.entries(parsed.data)) apps.set(name, toAppConfig(name, app));
  }

  if (vars.DINGTALK_CLIENT_ID !== undefined || vars.DINGTALK_CLIENT_SECRET !== undefined) {
    if (apps.has("default")) throw new ConfigError("BRIDGE_APPS", "defines `default`, which DINGTALK_* also define");
    const single = appSchema.safeParse({
      clientId: vars.DINGTALK_CLIENT_ID,
      clientSecret: vars.DINGTALK_CLIENT_SECRET,
      eventToken: vars.DINGTALK_EVENT_TOKEN,
      eventAesKey: vars.DINGTALK_EVENT_AES_KEY,
      eventOwnerKey: vars.DINGTALK_EVENT_OWNER_KEY,
      consumerTokens: splitTokens(vars.BRIDGE_CONSUMER_TOKENS),
    });
    if (!single.success) throw fromIssue(single.error, "", SINGLE_APP_NAMES);
    apps.set("default", toAppConfig("default", single.data));
  }

  if (apps.size === 0) {
    throw new ConfigError("DINGTALK_CLIENT_ID", "is not set, and neither is BRIDGE_APPS: no app is configured");
  }
  return { apps, tunables: toTunables(tunables.data) };
}

const SINGLE_APP_NAMES: Record<string, string> = {
  clientId: "DINGTALK_CLIENT_ID",
  clientSecret: "DINGTALK_CLIENT_SECRET",
  eventToken: "DINGTALK_EVENT_TOKEN",
  eventAesKey: "DINGTALK_EVENT_AES_KEY",
  eventOwnerKey: "DINGTALK_EVENT_OWNER_KEY",
  consumerTokens: "BRIDGE_CONSUMER_TOKENS",
};

function splitTokens(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  return String(value)
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

function blankToUndefined(env: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(env)) {
    if (typeof v === "string" && v.trim() === "") continue;
    out[k] = v;
  }
  return out;
}

/** Names the setting and the rule it breaks; zod's own message never contains the input value. */
function fromIssue(error: z.ZodError, prefix: string, rename: Record<string, string> = {}): ConfigError {
  const issue = error.issues[0]!;
  const path = issue.path.map(String);
  if (path[0] !== undefined) path[0] = rename[path[0]] ?? path[0];
  const setting = [prefix, ...path].filter(Boolean).join(".");
  const problem = issue.code === "invalid_type" && issue.input === undefined ? "is required" : issue.message;
  return new ConfigError(setting || "configuration", problem);
}
