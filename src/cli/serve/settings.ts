// The Worker's settings for `dtbridge serve`: the same names as a deployed Worker, from the
// environment and an env file (the environment wins), checked by the Worker's own loader before
// anything starts. Pure: the caller reads the file and the environment.
import { ConfigError, parseConfig } from "../../config/load";
import { tunablesSchema } from "../../config/tunables";

/** Everything the Worker reads from its env besides its bindings; serve binds exactly these. */
export const SETTING_NAMES: readonly string[] = [
  ...new Set([
    "DINGTALK_CLIENT_ID",
    "DINGTALK_CLIENT_SECRET",
    "DINGTALK_EVENT_TOKEN",
    "DINGTALK_EVENT_AES_KEY",
    "DINGTALK_EVENT_OWNER_KEY",
    "BRIDGE_CONSUMER_TOKENS",
    "BRIDGE_APPS",
    "STREAM_LINK",
    "DINGTALK_API_BASE",
    "PUBLIC_URL",
    "ORDERING",
    ...Object.keys(tunablesSchema.shape),
  ]),
];

/** serve's own variables: the defaults of --port, --host and --data. */
export const SERVE_VARIABLES: readonly string[] = ["PORT", "HOST", "DTBRIDGE_DATA"];

export interface Settings {
  /** The Worker's settings that are set, by name. */
  values: Record<string, string>;
  /** Names in the env file that are neither a setting nor serve's own: most likely typos. */
  unknown: string[];
}

export function collectSettings(environment: Record<string, string | undefined>, file: Record<string, string>): Settings {
  const values: Record<string, string> = {};
  for (const name of SETTING_NAMES) {
    const value = environment[name] ?? file[name];
    if (value !== undefined) values[name] = value;
  }
  const unknown = Object.keys(file).filter((name) => !SETTING_NAMES.includes(name) && !SERVE_VARIABLES.includes(name));
  return { values, unknown };
}

/**
 * Every problem the Worker would report for these settings, each naming the setting and never its
 * value: one that disables the whole bridge, a broken app, or a tunable that would fall back to its
 * default. serve refuses to start on any of them rather than run a bridge that is not what was asked.
 */
export function checkSettings(values: Record<string, string>): { problems: string[]; linkApps: string[] } {
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig(values);
  } catch (error) {
    if (error instanceof ConfigError) return { problems: [error.message], linkApps: [] };
    throw error;
  }
  const problems = [...config.brokenApps].map(([app, error]) => (app === "*" ? error.message : `${error.message} (app "${app}")`));
  // Tunables that fall back to their defaults, where the loader lists them.
  const fallbacks = (config as { problems?: readonly unknown[] }).problems ?? [];
  for (const p of fallbacks) problems.push(describe(p));
  const linkApps = [...config.apps.values()].filter((a) => a.streamLink).map((a) => a.name);
  return { problems, linkApps };
}

function describe(problem: unknown): string {
  if (problem instanceof Error) return problem.message;
  if (problem && typeof problem === "object" && "setting" in problem) {
    const { setting, message, problem: what } = problem as { setting: unknown; message?: unknown; problem?: unknown };
    const text = String(what ?? message ?? "is malformed");
    return text.startsWith(String(setting)) ? text : `${String(setting)}: ${text}`;
  }
  return String(problem);
}
