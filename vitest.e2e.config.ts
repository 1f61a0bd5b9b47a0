// End-to-end tests: real `wrangler dev` processes on 127.0.0.1, driven over HTTP from Node.
import { defineConfig } from "vitest/config";
import { ExitWatch } from "./test/harness/exit-watch.ts";

export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 90_000,
    // What a test waits for by polling (a page that renders, a process that restarts) may take
    // seconds when the other stages share the two cores (CI).
    expect: { poll: { timeout: 10_000 } },
    // One file at a time. Each runs its own bridges on free ports, but they are all `wrangler dev`
    // from this one project directory, and side by side one was seen reloaded mid-request (a 503
    // "Your worker restarted mid-request"); the other stages of npm test run beside this one.
    fileParallelism: false,
    silent: "passed-only",
    reporters: ["default", new ExitWatch()],
  },
});
