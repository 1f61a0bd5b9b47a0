// npm run deploy from a clone: the deployment's settings come from a file outside git, and a deploy
// says what is missing before anything is uploaded. Runs wrangler's --dry-run: no account needed.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { ROOT } from "../harness/local-bridge";

const dir = mkdtempSync(join(tmpdir(), "dtbridge-deploy-"));

function deploy(...args: string[]) {
  const run = spawnSync("npm", ["run", "deploy", "--silent", "--", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, CI: "true" },
  });
  return { code: run.status, out: `${run.stdout}${run.stderr}` };
}

describe("npm run deploy", () => {
  it("keeps wrangler.production.toml out of git, and explains how to make it when it is missing", () => {
    expect(spawnSync("git", ["check-ignore", "-q", "wrangler.production.toml"], { cwd: ROOT }).status).toBe(0);
    const run = deploy("--settings", join(dir, "absent.toml"));
    expect(run.code).toBe(1);
    expect(run.out).toContain("cp wrangler.production.example.toml wrangler.production.toml");
    expect(run.out).toContain("nothing was deployed");
  });

  it("refuses the tracked example as it is: every placeholder is named", () => {
    const run = deploy("--settings", join(ROOT, "wrangler.production.example.toml"), "--dry-run");
    expect(run.code).toBe(1);
    expect(run.out).toMatch(/name: still the example's placeholder[\s\S]*routes\[0\]\.pattern[\s\S]*vars\.DINGTALK_CLIENT_ID/);
  });

  it("builds the Worker with the code's bindings and migrations and the deployment's name, domain and vars", () => {
    const example = readFileSync(join(ROOT, "wrangler.production.example.toml"), "utf8");
    const settings = join(dir, "wrangler.production.toml");
    writeFileSync(
      settings,
      example
        .replace("CHANGE-ME-dingtalk-bridge", "acme-bridge")
        .replace("bridge.CHANGE-ME.example.com", "bridge.acme.cn")
        .replace('"CHANGE-ME"', '"dingacme"'),
    );
    const merged = join(ROOT, ".wrangler/deploy-production/wrangler.json");
    rmSync(merged, { force: true }); // a leftover of an earlier run must not pass for this one's
    const run = deploy("--settings", settings, "--dry-run", "--outdir", join(dir, "out"));
    expect(run.code, run.out).toBe(0);
    expect(run.out).toContain('deploying Worker "acme-bridge"');
    expect(run.out).toContain("--dry-run: exiting now");
    const config = JSON.parse(readFileSync(merged, "utf8"));
    expect(config).toMatchObject({
      name: "acme-bridge",
      workers_dev: false,
      routes: [{ pattern: "bridge.acme.cn", custom_domain: true }],
      vars: { DINGTALK_CLIENT_ID: "dingacme", STREAM_LINK: "on" },
      durable_objects: { bindings: [{ name: "INBOX" }, { name: "LINKS" }] },
      triggers: { crons: ["* * * * *"] },
    });
    // Whatever migrations the code has now: an upgrade's new one deploys without touching the settings.
    expect(config.migrations).toEqual(parse(readFileSync(join(ROOT, "wrangler.toml"), "utf8")).migrations);
    expect(config.dev).toBeUndefined();
  });
});
