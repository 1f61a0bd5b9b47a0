// The Worker's bundle as `wrangler deploy` would upload it: its size, and its gzip size.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { ROOT, WRANGLER_OFFLINE_ENV } from "./processes";

/**
 * The code's budget, gzip: a Worker that starts fast. The console's and the OpenAPI document's text
 * (src/http/static/files.ts, strings the runtime does not compile) is measured apart and not counted.
 */
export const GZIP_BUDGET_BYTES = 60 * 1024;

export interface BundleSize {
  bytes: number;
  gzipBytes: number;
  /** The gzip size of the static files' text inside the bundle. */
  staticGzipBytes: number;
  /** What the budget counts: the bundle without the static files' text. */
  codeGzipBytes: number;
}

export function measureBundle(outdir = mkdtempSync(join(tmpdir(), "dtbridge-bundle-"))): BundleSize {
  execFileSync(join(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", outdir], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      ...process.env,
      ...WRANGLER_OFFLINE_ENV,
    },
  });
  const code = readFileSync(join(outdir, "index.js"));
  const gzipBytes = gzipSync(code).length;
  const staticGzipBytes = gzipSync(readFileSync(join(ROOT, "src/http/static/files.ts"))).length;
  return { bytes: code.length, gzipBytes, staticGzipBytes, codeGzipBytes: gzipBytes - staticGzipBytes };
}
