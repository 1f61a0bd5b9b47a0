// End-to-end tests: real `wrangler dev` processes on 127.0.0.1, driven over HTTP from Node.
import { defineConfig } from "vitest/config";
import { ExitWatch } from "./test/harness/exit-watch.ts";

export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 90_000,
    // Each file runs its own bridges on free ports and its own state directories, so files run
    // side by side: they mostly wait on processes starting and on the bridges' timers.
    maxWorkers: 2,
    silent: "passed-only",
    reporters: ["default", new ExitWatch()],
  },
});
