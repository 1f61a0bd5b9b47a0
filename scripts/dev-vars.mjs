// Plain `wrangler dev` reads local settings from .dev.vars. A fresh clone gets one, a copy of the
// dummy values in config/local.env; an existing .dev.vars (perhaps with real values) is never touched.
import { copyFileSync, existsSync } from "node:fs";

if (!existsSync(".dev.vars")) {
  copyFileSync("config/local.env", ".dev.vars");
  process.stderr.write("created .dev.vars from config/local.env (dummy values for local development)\n");
}
