// dtbridge serve's pure parts: which settings it passes and refuses, and the workerd configuration
// it writes. The processes themselves are tested end to end (test/e2e/serve*.test.ts).
import { describe, expect, it } from "vitest";
import type { WorkerManifest } from "../../src/cli/serve/manifest";
import { checkSettings, collectSettings, SETTING_NAMES } from "../../src/cli/serve/settings";
import { address, text, workerdConfig } from "../../src/cli/serve/workerd-config";

const SECRET = "value-that-must-not-show";
const good = { DINGTALK_CLIENT_ID: "ding1", DINGTALK_CLIENT_SECRET: SECRET, BRIDGE_CONSUMER_TOKENS: "t1" };

describe("serve's settings", () => {
  it("takes the Worker's names from the environment, then the env file, and names the file's strangers", () => {
    const { values, unknown } = collectSettings(
      { DINGTALK_CLIENT_ID: "from-env", PATH: "/bin", LEASE_MS: undefined },
      { DINGTALK_CLIENT_ID: "from-file", LEASE_MS: "5000", PORT: "9000", STREAMLINK: "on" },
    );
    expect(values).toEqual({ DINGTALK_CLIENT_ID: "from-env", LEASE_MS: "5000" });
    expect(unknown).toEqual(["STREAMLINK"]);
    for (const name of ["BRIDGE_APPS", "STREAM_LINK", "DINGTALK_API_BASE", "ALERT_WEBHOOK_URL", "RETENTION_DAYS", "SIGN_WINDOW_MS"]) {
      expect(SETTING_NAMES).toContain(name);
    }
  });

  it("reports every problem by the setting's name, never its value, and the apps holding links", () => {
    expect(checkSettings(good)).toEqual({ problems: [], linkApps: [] });
    expect(checkSettings({ ...good, STREAM_LINK: "on" }).linkApps).toEqual(["default"]);
    const cases: [Record<string, string>, string][] = [
      [{ ...good, LEASE_MS: "12 seconds" }, "LEASE_MS"],
      [{ ...good, BRIDGE_CONSUMER_TOKENS: `${SECRET} x` }, "BRIDGE_CONSUMER_TOKENS"],
      [{ DINGTALK_CLIENT_ID: "ding1", BRIDGE_CONSUMER_TOKENS: "t1" }, "DINGTALK_CLIENT_SECRET"],
      [{ BRIDGE_APPS: `{"a": {"clientId": "x", "clientSecret": "${SECRET}"}}` }, "BRIDGE_APPS.a.consumerTokens"],
      [{ BRIDGE_APPS: SECRET }, "BRIDGE_APPS"],
    ];
    for (const [values, setting] of cases) {
      const { problems } = checkSettings(values);
      expect(problems.length, setting).toBeGreaterThan(0);
      expect(problems[0]!.startsWith(setting), problems[0]).toBe(true);
      expect(problems.join("\n")).not.toContain(SECRET);
    }
  });
});

describe("serve's workerd configuration", () => {
  const manifest: WorkerManifest = {
    name: "dingtalk-fallback-bridge",
    main: "index.js",
    compatibilityDate: "2026-04-20",
    compatibilityFlags: ["enable_request_signal"],
    durableObjects: [
      { binding: "INBOX", className: "Inbox", sql: true },
      { binding: "LINKS", className: "StreamLink", sql: true },
    ],
  };

  it("binds the objects with SQLite on disk and each setting by name from the environment, never by value", () => {
    const config = workerdConfig({
      manifest,
      bundlePath: "../lib/node_modules/dingtalk-fallback-bridge/dist/worker/index.js",
      storageDir: '/srv/a "quoted" dir/objects',
      host: "0.0.0.0",
      port: 8787,
      settings: ["DINGTALK_CLIENT_SECRET", "LEASE_MS"],
    });
    expect(config).toContain('compatibilityDate = "2026-04-20"');
    expect(config).toContain('compatibilityFlags = ["enable_request_signal"]');
    expect(config).toContain('esModule = embed "../lib/node_modules/dingtalk-fallback-bridge/dist/worker/index.js"');
    expect(config).toContain('(name = "INBOX", durableObjectNamespace = "Inbox")');
    expect(config).toContain('(className = "Inbox", uniqueKey = "dingtalk-fallback-bridge-Inbox", enableSql = true)');
    expect(config).toContain('(name = "DINGTALK_CLIENT_SECRET", fromEnvironment = "DINGTALK_CLIENT_SECRET")');
    expect(config).toContain('durableObjectStorage = (localDisk = "storage")');
    expect(config).toContain('disk = (path = "/srv/a \\"quoted\\" dir/objects", writable = true)');
    expect(config).toContain('address = "0.0.0.0:8787"');
  });

  it("writes Cap'n Proto literals and addresses safely", () => {
    expect(text('a\\b"c\nd\u007f')).toBe('"a\\\\b\\"c\\x0ad\\x7f"');
    expect(text("数据/目录")).toBe('"数据/目录"');
    expect(address("::1", 80)).toBe("[::1]:80");
    expect(address("[::]", 80)).toBe("[::]:80");
    expect(address("127.0.0.1", 0)).toBe("127.0.0.1:0");
  });
});
