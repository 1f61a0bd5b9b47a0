// End-to-end tests: real `wrangler dev` processes on 127.0.0.1, driven over HTTP from Node.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 90_000,
    fileParallelism: false,
  },
});
