// npm run deploy [-- --settings FILE] [-- any flag of wrangler deploy]: deploys the bridge to
// Cloudflare with this deployment's settings from wrangler.production.toml (git-ignored; copied from
// the tracked wrangler.production.example.toml) and the code's from wrangler.toml, merged into
// .wrangler/deploy-production/wrangler.json. Says what is missing before anything is uploaded:
// the file, a placeholder left in it, a secret in [vars], a setting the bridge would not take, a
// secret not set on the Worker. `npm test` and `npm run dev` never read the file.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseEnv, stripVTControlCharacters } from "node:util";
import { parse as parseToml } from "smol-toml";
import { ROOT } from "../test/harness/processes";
import { missingSecrets, productionConfig } from "./deploy-config";

const say = (line: string) => process.stderr.write(`deploy: ${line}\n`);
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");

/** A path given on the command line, from where `npm run` was typed (npm itself runs in the root). */
const fromUser = (path: string) => resolve(process.env.INIT_CWD ?? process.cwd(), path);

function main(argv: string[]): number {
  const at = argv.indexOf("--settings");
  if (at >= 0 && !argv[at + 1]) return refuse(["--settings needs a file"]);
  const file = at >= 0 ? fromUser(argv[at + 1]!) : join(ROOT, "wrangler.production.toml");
  const passOn = at >= 0 ? [...argv.slice(0, at), ...argv.slice(at + 2)] : [...argv];
  const secretsAt = passOn.indexOf("--secrets-file");
  if (secretsAt >= 0 && passOn[secretsAt + 1]) passOn[secretsAt + 1] = fromUser(passOn[secretsAt + 1]!);
  const shown = relative(ROOT, file) || file;
  if (!existsSync(file)) {
    return refuse([
      `no ${shown}: this deployment's settings (the Worker's name, its domain, the app's Client ID) live there, outside git`,
      "create it: cp wrangler.production.example.toml wrangler.production.toml, then fill in each CHANGE-ME",
    ]);
  }
  let deployment: Record<string, unknown>;
  try {
    deployment = parseToml(readFileSync(file, "utf8"));
  } catch (error) {
    return refuse([`${shown} is not valid TOML: ${(error as Error).message.split("\n")[0]}`]);
  }
  const code = parseToml(readFileSync(join(ROOT, "wrangler.toml"), "utf8"));
  const { config, problems, notes } = productionConfig(code, deployment, ROOT);
  if (problems.length) return refuse(problems.map((p) => `${shown}: ${p}`));
  for (const note of notes) say(`note: ${note}`);

  const out = join(ROOT, ".wrangler/deploy-production/wrangler.json");
  mkdirSync(join(out, ".."), { recursive: true });
  writeFileSync(out, `${JSON.stringify(config, null, 2)}\n`);
  if (!passOn.includes("--dry-run")) {
    const missing = secretsMissing(out, config.vars as Record<string, unknown>, passOn);
    if (missing) return missing;
  }
  say(`deploying Worker "${String(config.name)}" with ${shown} and wrangler.toml`);
  const deploy = spawnSync(WRANGLER, ["deploy", "-c", out, ...passOn], { cwd: ROOT, stdio: "inherit" });
  if (deploy.status === 0 && !passOn.includes("--dry-run")) {
    say("deployed; check it end to end: DTBRIDGE_URL=https://<your domain> DTBRIDGE_TOKEN=<an admin token> npx dtbridge doctor");
  }
  return deploy.status ?? 1;
}

/** Asks Cloudflare which secrets the Worker has (or reads the names in --secrets-file); an exit code if some are missing. */
function secretsMissing(config: string, vars: Record<string, unknown>, passOn: string[]): number | null {
  const at = passOn.indexOf("--secrets-file");
  let names: string[] = [];
  if (at >= 0 && passOn[at + 1] && existsSync(passOn[at + 1]!)) {
    const text = readFileSync(passOn[at + 1]!, "utf8");
    names = Object.keys(text.trimStart().startsWith("{") ? JSON.parse(text) : parseEnv(text));
  }
  const list = spawnSync(WRANGLER, ["secret", "list", "--format", "json", "-c", config], { cwd: ROOT, encoding: "utf8" });
  if (list.status === 0) names.push(...(JSON.parse(list.stdout) as { name: string }[]).map((s) => s.name));
  else if (at < 0) {
    const why = `${list.stdout}${list.stderr}`;
    if (/does not exist|10007/i.test(why)) {
      return refuse([
        "the Worker does not exist on Cloudflare yet, so it has no secrets: set them first (the first wrangler secret put creates it),",
        "  npx wrangler secret put DINGTALK_CLIENT_SECRET -c wrangler.production.toml",
        "  npx wrangler secret put BRIDGE_CONSUMER_TOKENS -c wrangler.production.toml",
        "or pass them with the deploy: npm run deploy -- --secrets-file FILE (a .env or JSON file; keep it out of git)",
      ]);
    }
    // wrangler's first line of complaint, without its colours and its "✘ [ERROR]" mark.
    const first =
      stripVTControlCharacters(why)
        .split("\n")
        .find((l) => l.trim()) ?? "no reason given";
    return refuse([`wrangler could not list the Worker's secrets: ${first.replace(/^\s*✘\s*\[ERROR\]\s*/, "")}`]);
  }
  const missing = missingSecrets(vars, names);
  return missing.length ? refuse(missing) : null;
}

function refuse(lines: string[]): number {
  for (const line of lines) say(line);
  say("nothing was deployed");
  return 1;
}

process.exitCode = main(process.argv.slice(2));
