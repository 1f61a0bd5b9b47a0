// npm run check:openapi: lints the OpenAPI document the Worker serves (built from the routes' zod
// schemas, as `npm run static` builds it) with Redocly CLI's recommended rules (redocly.yaml). Fails
// on any error or warning not listed, with its reason, in .redocly.lint-ignore.yaml.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { openApiDocument } from "../src/http/openapi/document";
import { ROOT } from "../test/harness/processes";

// A fixed place, since .redocly.lint-ignore.yaml names the file its entries are for.
const file = join(ROOT, "node_modules/.cache/dtbridge/openapi.json");
const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify(openApiDocument(version), null, 2)}\n`);
const lint = spawnSync(
  join(ROOT, "node_modules/.bin/redocly"),
  ["lint", file, "--config", join(ROOT, "redocly.yaml"), "--format", "codeframe", "--max-problems", "20"],
  {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
  },
);
// Redocly exits 0 with warnings; a new warning fails here too, so it is fixed or listed with its reason.
const warned = /You have \d+ warnings?/.test(String(lint.stdout) + String(lint.stderr));
process.stdout.write(String(lint.stdout));
process.stderr.write(String(lint.stderr));
process.exitCode = lint.status || (warned ? 1 : 0);
