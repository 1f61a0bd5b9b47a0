// Builds what the npm package ships: the dtbridge command, the TypeScript client and its types, and
// the Worker itself for `dtbridge serve` (dist/worker: the bundle `wrangler deploy` uploads, built by
// wrangler the same way, and serve.json, what serve needs from wrangler.toml to run it on workerd).
import { execFileSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { build } from "esbuild";
import { unstable_readConfig } from "wrangler";

const { version } = JSON.parse(readFileSync("package.json", "utf8"));
const common = { bundle: true, format: "esm", target: "node20", sourcemap: true, logLevel: "warning" };
await build({
  ...common,
  platform: "node",
  entryPoints: ["src/cli/dtbridge.ts"],
  outfile: "dist/dtbridge.js",
  banner: { js: "#!/usr/bin/env node" },
  define: { DTBRIDGE_VERSION: JSON.stringify(version) },
});
// Runnable as it is, like the installed bin: `./dist/dtbridge.js`, or a link to it on the PATH.
chmodSync("dist/dtbridge.js", 0o755);
await build({ ...common, platform: "neutral", entryPoints: ["src/client/index.ts"], outfile: "dist/client.js" });
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });

const offline = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};
execFileSync("node_modules/.bin/wrangler", ["deploy", "--dry-run", "--outdir", "dist/worker"], {
  stdio: ["ignore", "ignore", "inherit"],
  env: offline,
});
const config = unstable_readConfig({ config: "wrangler.toml" });
const sqlClasses = new Set(config.migrations.flatMap((m) => m.new_sqlite_classes ?? []));
/** @type {import("../src/cli/serve/manifest").WorkerManifest} */
const manifest = {
  name: config.name,
  main: "index.js",
  compatibilityDate: config.compatibility_date,
  compatibilityFlags: config.compatibility_flags,
  durableObjects: config.durable_objects.bindings.map((b) => ({
    binding: b.name,
    className: b.class_name,
    sql: sqlClasses.has(b.class_name),
  })),
};
writeFileSync("dist/worker/serve.json", `${JSON.stringify(manifest, null, 2)}\n`);
