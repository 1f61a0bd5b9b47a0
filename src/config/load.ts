// The one config loader: parses the Worker's env once per isolate and names any bad setting
// without echoing its value. A bad app disables that app alone; a malformed setting that has a
// default (the tunables, and the bridge's own switches) falls back to it and is reported, so no
// such mistake takes ingress down. Only a bridge with no app at all refuses everything.

import { log } from "../lib/log";
import { isLoopback } from "../lib/loopback";
import * as z from "../lib/zod";
import { APP_NAME, type AppConfig, appSchema, type Ordering, orderingSchema, toAppConfig } from "./apps";
import { readSettings, type SettingProblem, type SettingSpec } from "./settings";
import { readTunables, TUNABLES, type Tunables } from "./tunables";

export interface BridgeConfig {
  apps: ReadonlyMap<string, AppConfig>;
  /** Apps named in the configuration whose settings are broken, with what is wrong. */
  brokenApps: ReadonlyMap<string, ConfigError>;
  tunables: Tunables;
  /** Where the bridge calls DingTalk (Stream tickets, access tokens, the robot API). */
  apiBase: string;
  /** The bridge's public origin for URLs in alerts, when configured. */
  publicUrl: string | undefined;
  /** Settings that were malformed and fell back to their defaults: named in status, logs and a `config` alert. */
  problems: readonly SettingProblem[];
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
      for (const [name, error] of result.brokenApps) {
        log("error", "config_error", { app: name, setting: error.setting, message: error.message });
      }
      for (const p of result.problems) log("error", "config_error", { setting: p.setting, message: `${p.setting}: ${p.problem}` });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      log("error", "config_error", { setting: error.setting, message: error.message });
      result = error;
    }
    cache.set(env, result);
  }
  if (result instanceof ConfigError) throw result;
  return result;
}

const apiBase = z
  .url({ protocol: /^https?$/ })
  .check(
    z.refine(
      (u) => u.startsWith("https:") || (URL.canParse(u) && isLoopback(new URL(u).hostname)),
      "must be https (plain http only for a loopback host)",
    ),
  );

/** The bridge's own switches; each has a default, like the tunables. */
const BRIDGE_SETTINGS = {
  STREAM_LINK: { schema: z.enum(["on", "off"]), rule: "on or off", fallback: "off" } as SettingSpec<"on" | "off">,
  DINGTALK_API_BASE: { schema: apiBase, rule: "an https URL (plain http only for a loopback host)", fallback: "https://api.dingtalk.com" },
  PUBLIC_URL: { schema: z.optional(z.url({ protocol: /^https?$/ })), rule: "an http(s) URL", fallback: undefined } as SettingSpec<
    string | undefined
  >,
  ORDERING: { schema: orderingSchema, rule: "conversation, sender or off", fallback: "conversation" } as SettingSpec<Ordering>,
} satisfies Record<string, SettingSpec<unknown>>;

const SINGLE_APP_NAMES: Record<string, string> = {
  clientId: "DINGTALK_CLIENT_ID",
  clientSecret: "DINGTALK_CLIENT_SECRET",
  eventToken: "DINGTALK_EVENT_TOKEN",
  eventAesKey: "DINGTALK_EVENT_AES_KEY",
  eventOwnerKey: "DINGTALK_EVENT_OWNER_KEY",
  consumerTokens: "BRIDGE_CONSUMER_TOKENS",
};

/** Every setting the bridge reads from its env, besides its bindings (`dtbridge serve` binds exactly these). */
export const SETTING_NAMES: readonly string[] = [
  ...Object.values(SINGLE_APP_NAMES),
  "BRIDGE_APPS",
  ...Object.keys(BRIDGE_SETTINGS),
  ...Object.keys(TUNABLES),
];

export function parseConfig(env: Record<string, unknown>): BridgeConfig {
  const vars = blankToUndefined(env);
  const { tunables, problems: tunableProblems } = readTunables(vars);
  const { values: bridge, problems: bridgeProblems } = readSettings(BRIDGE_SETTINGS, vars);

  const apps = new Map<string, AppConfig>();
  const broken = new Map<string, ConfigError>();
  const add = (name: string, value: unknown, prefix: string, rename?: Record<string, string>) => {
    const parsed = appSchema.safeParse(value);
    const defaults = { streamLink: bridge.STREAM_LINK === "on", ordering: bridge.ORDERING };
    if (parsed.success) apps.set(name, toAppConfig(name, parsed.data, defaults));
    else broken.set(name, fromIssue(parsed.error, prefix, rename));
  };

  if (vars.BRIDGE_APPS !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(String(vars.BRIDGE_APPS));
    } catch {
      json = undefined;
    }
    if (!json || typeof json !== "object" || Array.isArray(json)) {
      broken.set("*", new ConfigError("BRIDGE_APPS", "is not a JSON object of apps"));
    } else {
      for (const [name, app] of Object.entries(json)) {
        if (!APP_NAME.test(name)) broken.set(name.slice(0, 40), new ConfigError("BRIDGE_APPS", "app names match [a-z0-9-]{1,32}"));
        else add(name, app, `BRIDGE_APPS.${name}`);
      }
    }
  }

  if (vars.DINGTALK_CLIENT_ID !== undefined || vars.DINGTALK_CLIENT_SECRET !== undefined) {
    if (apps.has("default") || broken.has("default")) {
      apps.delete("default");
      broken.set("default", new ConfigError("BRIDGE_APPS", "defines `default`, which DINGTALK_* also define"));
    } else {
      add(
        "default",
        {
          clientId: vars.DINGTALK_CLIENT_ID,
          clientSecret: vars.DINGTALK_CLIENT_SECRET,
          eventToken: vars.DINGTALK_EVENT_TOKEN,
          eventAesKey: vars.DINGTALK_EVENT_AES_KEY,
          eventOwnerKey: vars.DINGTALK_EVENT_OWNER_KEY,
          consumerTokens: splitTokens(vars.BRIDGE_CONSUMER_TOKENS),
        },
        "",
        SINGLE_APP_NAMES,
      );
    }
  }

  if (apps.size === 0 && broken.size === 0) {
    throw new ConfigError("DINGTALK_CLIENT_ID", "is not set, and neither is BRIDGE_APPS: no app is configured");
  }
  return {
    apps,
    brokenApps: broken,
    tunables,
    apiBase: bridge.DINGTALK_API_BASE.replace(/\/+$/, ""),
    publicUrl: bridge.PUBLIC_URL?.replace(/\/+$/, ""),
    problems: [...bridgeProblems, ...tunableProblems],
  };
}

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
function fromIssue(error: z.core.$ZodError, prefix: string, rename: Record<string, string> = {}): ConfigError {
  const issue = error.issues[0]!;
  const path = issue.path.map(String);
  if (path[0] !== undefined) path[0] = rename[path[0]] ?? path[0];
  const setting = [prefix, ...path].filter(Boolean).join(".");
  const problem = issue.code === "invalid_type" && issue.input === undefined ? "is required" : issue.message;
  return new ConfigError(setting || "configuration", problem);
}
