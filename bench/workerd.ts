// The benchmark's baseline Worker on bare workerd, configured exactly as `dtbridge serve` configures
// the bridge (the same generator, SQLite on local disk), so the bridge under serve is measured
// against floors on the same runtime with nothing in between.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unstable_readConfig } from "wrangler";
import { startRuntime, stopRuntime } from "../src/cli/serve/runtime";
import { workerdConfig } from "../src/cli/serve/workerd-config";
import type { LocalBridge } from "../test/harness/local-bridge";
import { freePort, ROOT } from "../test/harness/local-bridge";

export async function startOnWorkerd(wranglerToml: string): Promise<LocalBridge> {
  const dir = mkdtempSync(join(tmpdir(), "dtbridge-floor-"));
  execFileSync(join(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--config", wranglerToml, "--outdir", dir], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  const config = unstable_readConfig({ config: join(ROOT, wranglerToml) });
  const sql = new Set(config.migrations.flatMap((m: { new_sqlite_classes?: string[] }) => m.new_sqlite_classes ?? []));
  const storage = join(dir, "objects");
  mkdirSync(storage);
  const port = await freePort();
  const configPath = join(dir, "workerd.capnp");
  writeFileSync(
    configPath,
    workerdConfig({
      manifest: {
        name: config.name!,
        main: "index.js",
        compatibilityDate: config.compatibility_date!,
        compatibilityFlags: config.compatibility_flags,
        durableObjects: config.durable_objects.bindings.map((b: { name: string; class_name: string }) => ({
          binding: b.name,
          className: b.class_name,
          sql: sql.has(b.class_name),
        })),
      },
      bundlePath: "index.js",
      storageDir: storage,
      host: "127.0.0.1",
      port,
      settings: [],
    }),
  );
  const runtime = await startRuntime(configPath, process.env);
  const pid = runtime.child.pid!;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    persistDir: storage,
    pid,
    groups: () => [pid],
    output: () => "",
    stop: () => stopRuntime(runtime, 3_000),
  };
}
