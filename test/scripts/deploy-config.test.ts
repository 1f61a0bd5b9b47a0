// What `npm run deploy` hands wrangler: the code's settings from wrangler.toml with the deployment's
// from wrangler.production.toml, each key from its one owner, and what stops a deploy before it starts.
import { describe, expect, it } from "vitest";
import { missingSecrets, productionConfig } from "../../scripts/deploy-config";

const code = {
  name: "dingtalk-fallback-bridge",
  main: "src/index.ts",
  compatibility_date: "2026-04-20",
  workers_dev: true,
  vars: {},
  durable_objects: { bindings: [{ name: "INBOX", class_name: "Inbox" }] },
  migrations: [{ tag: "v1", new_sqlite_classes: ["Inbox"] }],
  triggers: { crons: ["* * * * *"] },
  dev: { ip: "127.0.0.1", port: 8787 },
};
const deployment = {
  name: "acme-bridge",
  workers_dev: false,
  routes: [{ pattern: "bridge.acme.cn", custom_domain: true }],
  vars: { DINGTALK_CLIENT_ID: "dingacme", STREAM_LINK: "on", RETENTION_DAYS: 14 },
};

describe("npm run deploy's configuration", () => {
  it("is the code's settings with the deployment's, the entry point absolute and no [dev]", () => {
    const { config, problems, notes } = productionConfig(code, deployment, "/clone");
    expect(problems).toEqual([]);
    expect(notes).toEqual([]);
    expect(config).toEqual({
      name: "acme-bridge",
      main: "/clone/src/index.ts",
      compatibility_date: "2026-04-20",
      workers_dev: false,
      routes: deployment.routes,
      vars: deployment.vars,
      durable_objects: code.durable_objects,
      migrations: code.migrations,
      triggers: code.triggers,
    });
  });

  it("refuses the code's keys, unknown keys, placeholders, secrets and typos in [vars], and values the bridge would not take", () => {
    const { problems } = productionConfig(
      code,
      {
        name: "CHANGE-ME-bridge",
        migrations: [],
        bindings: {},
        routes: [{ pattern: "bridge.example.com", custom_domain: true }],
        vars: { DINGTALK_CLIENT_SECRET: "s3cret", BRIDGE_APPS: "{}", MAX_ATTEMPS: "3", MAX_ATTEMPTS: "lots", STREAM_LINK: true },
      },
      "/clone",
    );
    expect(problems).toEqual([
      expect.stringMatching(/^migrations: the code's own setting/),
      expect.stringMatching(/^bindings: not a deployment setting/),
      expect.stringMatching(/^name: still the example's placeholder/),
      expect.stringMatching(/^routes\[0\]\.pattern: still the example's placeholder/),
      expect.stringMatching(/^vars\.DINGTALK_CLIENT_SECRET: a secret; .*wrangler secret put DINGTALK_CLIENT_SECRET/),
      expect.stringMatching(/^vars\.BRIDGE_APPS: a secret/),
      expect.stringMatching(/^vars\.MAX_ATTEMPS: not a setting of the bridge/),
      expect.stringMatching(/^vars\.STREAM_LINK: must be a string or a number/),
      expect.stringMatching(/^vars\.MAX_ATTEMPTS: must be a whole number/),
    ]);
    expect(problems.join("\n")).not.toContain("s3cret");
    expect(problems.join("\n")).not.toContain("lots");
  });

  it("refuses [vars] in the tracked wrangler.toml, where they would conflict on the next pull", () => {
    const { problems } = productionConfig({ ...code, vars: { DINGTALK_CLIENT_ID: "d" } }, deployment, "/clone");
    expect(problems).toEqual([expect.stringContaining("wrangler.toml has [vars] (DINGTALK_CLIENT_ID)")]);
  });

  it("notes a deployment on workers.dev alone", () => {
    const { notes } = productionConfig(code, { name: "try-it", vars: { DINGTALK_CLIENT_ID: "d" } }, "/clone");
    expect(notes).toEqual([expect.stringContaining("blocked from mainland China")]);
  });

  it("names the secrets a bridge still needs, unless BRIDGE_APPS names the apps", () => {
    expect(missingSecrets({ DINGTALK_CLIENT_ID: "d" }, ["DINGTALK_CLIENT_SECRET", "BRIDGE_CONSUMER_TOKENS"])).toEqual([]);
    expect(missingSecrets({ DINGTALK_CLIENT_ID: "d" }, ["DINGTALK_CLIENT_SECRET"])).toEqual([
      "BRIDGE_CONSUMER_TOKENS: not set; npx wrangler secret put BRIDGE_CONSUMER_TOKENS -c wrangler.production.toml",
    ]);
    expect(missingSecrets({}, [])).toHaveLength(3);
    expect(missingSecrets({}, ["BRIDGE_APPS"])).toEqual([]);
  });
});
