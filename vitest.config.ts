// Unit and integration tests, inside workerd with real SQLite Durable Objects and alarms. A fake
// DingTalk runs beside them in Node (test/fake-dingtalk), on a port chosen here so that the
// Worker's DINGTALK_API_BASE can point at it.
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { ExitWatch } from "./test/harness/exit-watch.ts";
import { HeldRuntimeLog } from "./test/harness/held-runtime-log.ts";
import { freePort } from "./test/harness/local-bridge.ts";
import { testBindings } from "./test/harness/test-env.ts";

export default defineConfig(async () => {
  process.env.FAKE_DINGTALK_PORT ??= String(await freePort());
  // The pool reads wrangler.toml with wrangler, which says which .dev.vars it read once per file.
  process.env.WRANGLER_LOG ??= "warn";
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
      // What a test waits for by polling may take seconds when three suites share two cores (CI).
      expect: { poll: { timeout: 10_000 } },
      // Each file runs in a workerd of its own, mostly waiting on timers and sockets: two at a time,
      // beside the end-to-end suite and the storms (vitest's default here would be one). Three
      // finished sooner but starved tests' timers on two cores.
      maxWorkers: 2,
      // Every test file imports hono and zod afresh into its own workerd: as one prebundled module
      // each rather than a hundred files fetched one by one, a sixth less CPU for the whole run.
      deps: {
        optimizer: {
          ssr: {
            enabled: true,
            include: [
              "hono",
              "hono/tiny",
              "hono/body-limit",
              "hono/bearer-auth",
              "hono/http-exception",
              "hono/request-id",
              "hono/utils/http-status",
              "zod/mini",
              "zod/v4/locales/en.js",
            ],
          },
        },
      },
      // The Worker's JSON log lines of a passing test are noise; a failing test's are shown.
      silent: "passed-only" as const,
      reporters: [new HeldRuntimeLog(), "default", new ExitWatch({ [Number(process.env.FAKE_DINGTALK_PORT)]: "the fake DingTalk" })],
    },
  };
});
