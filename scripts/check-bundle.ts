// npm run check:bundle: builds the Worker as `wrangler deploy` would and holds its gzip size to the budget.
import { GZIP_BUDGET_BYTES, measureBundle } from "../test/harness/bundle";

const { bytes, gzipBytes, staticGzipBytes, codeGzipBytes } = measureBundle(".wrangler/dry-run");
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
process.stdout.write(
  `bundle: ${kib(bytes)}, gzip ${kib(gzipBytes)}: code ${kib(codeGzipBytes)} (budget ${kib(GZIP_BUDGET_BYTES)}), console and OpenAPI text ${kib(staticGzipBytes)}\n`,
);
if (codeGzipBytes > GZIP_BUDGET_BYTES) {
  process.stderr.write("check:bundle: the Worker's code is over its gzip budget; see what grew with `npx esbuild --analyze`\n");
  process.exitCode = 1;
}
