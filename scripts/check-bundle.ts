// npm run check:bundle: builds the Worker as `wrangler deploy` would and holds its gzip size to the budget.
import { GZIP_BUDGET_BYTES, measureBundle } from "../test/harness/bundle";

const { bytes, gzipBytes } = measureBundle(".wrangler/dry-run");
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
process.stdout.write(`bundle: ${kib(bytes)}, gzip ${kib(gzipBytes)} (budget ${kib(GZIP_BUDGET_BYTES)})\n`);
if (gzipBytes > GZIP_BUDGET_BYTES) {
  process.stderr.write("check:bundle: the Worker's gzip size is over budget; see what grew with `npx esbuild --analyze`\n");
  process.exitCode = 1;
}
