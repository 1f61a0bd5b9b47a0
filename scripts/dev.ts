// npm run dev [-- --real-dingtalk] [-- wrangler dev's flags]: the bridge under `wrangler dev` on
// http://127.0.0.1:8787 (wrangler.toml's [dev]), its state in .wrangler/state (workerd's SQLite), its
// settings from .dev.vars; and a fake DingTalk beside it that takes every call the bridge makes to
// DingTalk (access tokens, robot sends, the Stream link) and its alerts, so a local run touches
// nothing real and sends show `sent`. --real-dingtalk leaves the fake out.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { startFakeDingTalk } from "../test/harness/fake-dingtalk/index.ts";
import { ROOT } from "../test/harness/processes";
import { devPlan, REAL_DINGTALK_FLAG } from "./dev-plan";

const say = (line: string) => process.stderr.write(`dev: ${line}\n`);
const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  process.stdout.write(`Usage: npm run dev [-- ${REAL_DINGTALK_FLAG}] [-- any flag of wrangler dev, e.g. --port 8911]

The bridge on http://127.0.0.1:8787 under wrangler dev, with local settings from .dev.vars and a
fake DingTalk beside it (DINGTALK_API_BASE and, unless .dev.vars sets one, ALERT_WEBHOOK_URL point
at it). ${REAL_DINGTALK_FLAG} calls the real DingTalk instead (so does DINGTALK_API_BASE in .dev.vars).
`);
  process.exit(0);
}

const varsFile = join(ROOT, ".dev.vars");
// A clone whose .dev.vars was removed gets it back from config/local.env, as `npm ci` makes it.
if (!existsSync(varsFile)) spawnSync(process.execPath, [join(ROOT, "scripts/dev-vars.mjs")], { cwd: ROOT, stdio: "inherit" });
const plan = devPlan(args, parseEnv(readFileSync(varsFile, "utf8")) as Record<string, string>);

const fake = plan.fakeApps ? await startFakeDingTalk({ apps: plan.fakeApps, log: (line) => process.stderr.write(`${line}\n`) }) : null;
const vars = fake ? plan.vars(fake.url) : {};
if (fake) {
  say(`a fake DingTalk on ${fake.url} takes the bridge's DingTalk calls and alerts: what it got is at ${fake.url}/_fake/state`);
  say(`nothing reaches the real DingTalk; \`npm run dev -- ${REAL_DINGTALK_FLAG}\` calls it instead`);
} else {
  say(`no fake DingTalk (${plan.reason})`);
}

const wrangler = spawn(
  join(ROOT, "node_modules/.bin/wrangler"),
  ["dev", ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]), ...plan.wranglerArgs],
  { cwd: ROOT, stdio: "inherit" },
);
// Ctrl-C reaches wrangler from the terminal itself; this process waits for it to finish, then stops the fake.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => wrangler.kill("SIGTERM"));
const code = await new Promise<number>((resolve) => wrangler.on("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0))));
await fake?.close();
process.exit(code);
