// The Worker's settings for `dtbridge serve`: the same names as a deployed Worker, from the
// environment and an env file (the environment wins), checked by the Worker's own loader before
// anything starts. Pure: the caller reads the file and the environment.
import { ConfigError, parseConfig, SETTING_NAMES } from "../../config/load";

export { SETTING_NAMES };

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
  // Settings that would fall back to their defaults: a deployed Worker runs on, serve refuses to start.
  for (const p of config.problems) problems.push(`${p.setting}: ${p.problem}`);
  const linkApps = [...config.apps.values()].filter((a) => a.streamLink).map((a) => a.name);
  return { problems, linkApps };
}
