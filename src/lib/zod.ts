// zod's small build (zod/mini), with English messages: the full build is most of a Worker's bundle.
// Every schema in the bridge imports zod from here, as `import * as z from "../lib/zod"`, so that
// the bundler keeps only the parts in use.
import { config } from "zod/mini";
import en from "zod/v4/locales/en.js";

config(en());

export * from "zod/mini";
