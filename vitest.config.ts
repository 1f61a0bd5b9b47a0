// Unit and integration tests, inside workerd with real SQLite Durable Objects and alarms. A fake
// DingTalk runs beside them in Node (test/fake-dingtalk), on a port chosen here so that the
// Worker's DINGTALK_API_BASE can point at it.
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { freePort } from "./test/harness/local-bridge.ts";
import { testBindings } from "./test/harness/test-env.ts";

export default defineConfig(async () => {
  process.env.FAKE_DINGTALK_PORT ??= String(await freePort());
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          // The pool's test runner needs Node's APIs; the Worker does without them (they cost every
          // request a quarter of a millisecond), and the end-to-end tests run it that way.
          compatibilityFlags: ["nodejs_compat", "enable_request_signal"],
          bindings: testBindings(`http://127.0.0.1:${process.env.FAKE_DINGTALK_PORT}`),
        },
      }),
    ],
    test: {
      include: ["test/**/*.test.ts"],
      exclude: ["test/e2e/**"],
      globalSetup: ["./test/harness/fake-dingtalk/vitest-setup.ts"],
      testTimeout: 20_000,
    },
  };
});
