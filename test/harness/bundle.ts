// The Worker's bundle as `wrangler deploy` would upload it: its size, and its gzip size.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { ROOT } from "./local-bridge";

/** The bundle budget from the console issue: a Worker that starts fast. */
export const GZIP_BUDGET_BYTES = 60 * 1024;

export function measureBundle(outdir = mkdtempSync(join(tmpdir(), "dtbridge-bundle-"))): { bytes: number; gzipBytes: number } {
  execFileSync(join(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", outdir], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      WRANGLER_SEND_ERROR_REPORTS: "false",
      WRANGLER_HIDE_BANNER: "true",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
    },
  });
  const code = readFileSync(join(outdir, "index.js"));
  return { bytes: code.length, gzipBytes: gzipSync(code).length };
}
