// Unit and integration tests, inside workerd with real SQLite Durable Objects and alarms. A fake
// DingTalk runs beside them in Node (test/fake-dingtalk), on a port chosen here so that the
// Worker's DINGTALK_API_BASE can point at it.
import { createServer } from "node:net";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { testBindings } from "./test/support/test-env.ts";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export default defineConfig(async () => {
  process.env.FAKE_DINGTALK_PORT ??= String(await freePort());
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: { bindings: testBindings(`http://127.0.0.1:${process.env.FAKE_DINGTALK_PORT}`) },
      }),
    ],
    test: {
      include: ["test/**/*.test.ts"],
      exclude: ["test/e2e/**"],
      globalSetup: ["./test/fake-dingtalk/vitest-setup.ts"],
      testTimeout: 20_000,
    },
  };
});
