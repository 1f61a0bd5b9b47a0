// Builds what the npm package ships for Node: the dtbridge command, the TypeScript client and its types.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { build } from "esbuild";

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
await build({ ...common, platform: "neutral", entryPoints: ["src/client/index.ts"], outfile: "dist/client.js" });
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
