// npm run openapi: writes public/openapi.json (served as a static asset) from the routes' zod schemas. With --check (part of
// npm test), fails when the committed document is not what the schemas make.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openApiDocument } from "../src/http/openapi/document";
import { ROOT } from "./lib/local-bridge";

const file = join(ROOT, "public/openapi.json");
const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const text = `${JSON.stringify(openApiDocument(version), null, 2)}\n`;
if (process.argv.includes("--check")) {
  if (readFileSync(file, "utf8") !== text) {
    process.stderr.write("public/openapi.json is out of date with the schemas: run `npm run openapi`\n");
    process.exitCode = 1;
  }
} else {
  writeFileSync(file, text);
  process.stdout.write(`wrote ${file}\n`);
}
