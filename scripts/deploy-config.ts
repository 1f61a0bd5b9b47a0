// The configuration `npm run deploy` hands wrangler: the code's own settings from the tracked
// wrangler.toml (entry point, compatibility, Durable Objects and their migrations, the cron), and
// the deployment's from the operator's untracked wrangler.production.toml (the Worker's name and
// account, its domain, its [vars]). Each key has one owner, so an upgrade's new migration always
// deploys and an operator's settings never sit in a tracked file. Pure.
import { checkSettings, SETTING_NAMES } from "../src/cli/serve/settings";

/** Keys wrangler.production.toml may set: where and as what this deployment runs. */
export const DEPLOYMENT_KEYS = [
  "name",
  "account_id",
  "workers_dev",
  "preview_urls",
  "routes",
  "route",
  "vars",
  "observability",
  "limits",
  "placement",
  "logpush",
  "tail_consumers",
] as const;

/** Settings that carry credentials: never in a file wrangler uploads as plain text. */
export const SECRET_SETTINGS = [
  "DINGTALK_CLIENT_SECRET",
  "DINGTALK_EVENT_TOKEN",
  "DINGTALK_EVENT_AES_KEY",
  "BRIDGE_CONSUMER_TOKENS",
  "BRIDGE_APPS",
  // A DingTalk robot's webhook URL carries its access_token.
  "ALERT_WEBHOOK_URL",
  "ALERT_WEBHOOK_SECRET",
];

/** What the example file holds until the operator replaces it. */
const PLACEHOLDER = /CHANGE-ME|(^|\.)example\.(com|org|net)\b/i;

export interface ProductionConfig {
  /** The whole configuration for `wrangler deploy -c`, its entry point absolute. */
  config: Record<string, unknown>;
  /** What must be fixed before deploying, each naming the key or setting, never a value. */
  problems: string[];
  /** What deploys as asked but deserves a word. */
  notes: string[];
}

export function productionConfig(code: Record<string, unknown>, deployment: Record<string, unknown>, root: string): ProductionConfig {
  const problems: string[] = [];
  const notes: string[] = [];
  for (const key of Object.keys(deployment)) {
    if ((DEPLOYMENT_KEYS as readonly string[]).includes(key)) continue;
    problems.push(
      key in code
        ? `${key}: the code's own setting, kept in wrangler.toml; remove it from wrangler.production.toml`
        : `${key}: not a deployment setting (wrangler.production.toml takes ${DEPLOYMENT_KEYS.join(", ")})`,
    );
  }
  if (isTable(code.vars) && Object.keys(code.vars).length) {
    problems.push(
      `wrangler.toml has [vars] (${Object.keys(code.vars).join(", ")}): a deployment's settings go in wrangler.production.toml`,
    );
  }
  for (const path of placeholders(deployment)) problems.push(`${path}: still the example's placeholder; put this deployment's value`);

  const vars = isTable(deployment.vars) ? deployment.vars : {};
  if (deployment.vars !== undefined && !isTable(deployment.vars)) problems.push("vars: must be a table ([vars])");
  problems.push(...checkVars(vars));

  if (deployment.workers_dev !== false && deployment.routes === undefined && deployment.route === undefined) {
    notes.push(
      "only a workers.dev URL: fine for trying the bridge, but workers.dev is blocked from mainland China; add a custom domain (routes) for production",
    );
  }
  const { dev: _dev, vars: _codeVars, ...codeOwn } = code;
  const config = { ...codeOwn, ...deployment, vars, main: `${root}/${String(code.main)}` };
  return { config, problems, notes };
}

function checkVars(vars: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(vars)) {
    if (SECRET_SETTINGS.includes(name)) {
      problems.push(
        `vars.${name}: a secret; remove it from [vars] and set it with npx wrangler secret put ${name} -c wrangler.production.toml`,
      );
    } else if (!SETTING_NAMES.includes(name)) {
      problems.push(`vars.${name}: not a setting of the bridge (a typo?); the README's Configuration lists them`);
    } else if (typeof value !== "string" && typeof value !== "number") {
      problems.push(`vars.${name}: must be a string or a number`);
    } else {
      values[name] = String(value);
    }
  }
  // The bridge's own loader judges the values; the secrets it would need are stand-ins here, and
  // only problems with the vars set here are this file's.
  const standIns = { DINGTALK_CLIENT_ID: "stand-in", DINGTALK_CLIENT_SECRET: "stand-in", BRIDGE_CONSUMER_TOKENS: "stand-in" };
  for (const problem of checkSettings({ ...standIns, ...values }).problems) {
    const setting = Object.keys(values).find((name) => problem.startsWith(`${name}:`));
    if (setting) problems.push(`vars.${problem}`);
  }
  return problems;
}

/** Paths of string values still holding the example's placeholders. */
function placeholders(value: unknown, path = ""): string[] {
  if (typeof value === "string") return PLACEHOLDER.test(value) ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => placeholders(v, `${path}[${i}]`));
  if (isTable(value)) return Object.entries(value).flatMap(([k, v]) => placeholders(v, path ? `${path}.${k}` : k));
  return [];
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The secrets a bridge needs, against those set (from `wrangler secret list`, or the names in a
 * --secrets-file): the missing ones, each with how to set it.
 */
export function missingSecrets(vars: Record<string, unknown>, secrets: readonly string[]): string[] {
  if (secrets.includes("BRIDGE_APPS")) return [];
  const needed = ["DINGTALK_CLIENT_SECRET", "BRIDGE_CONSUMER_TOKENS"].filter((s) => !secrets.includes(s));
  const missing = needed.map((s) => `${s}: not set; npx wrangler secret put ${s} -c wrangler.production.toml`);
  if (vars.DINGTALK_CLIENT_ID === undefined) {
    missing.unshift("DINGTALK_CLIENT_ID: not in [vars] (the app's Client ID), and no BRIDGE_APPS secret names the apps instead");
  }
  return missing;
}
