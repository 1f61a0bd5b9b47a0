// dtbridge restore: puts a backup's SQLite files back in a data directory serve is not running on.
// What was there is kept aside, never deleted.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Command, EXIT, printHelp, UsageError } from "../common";
import { unpack } from "../serve/archive";
import { dataDirOf, OBJECTS_DIR } from "../serve/layout";
import { acquireLock } from "../serve/lock";
import { flags } from "./backup";

const HELP = `Usage: dtbridge restore --from FILE [--data DIR]

Puts the SQLite files of a backup made by dtbridge backup back into DIR, for dtbridge serve to start
on. Stop serve first: restore refuses a directory in use. The archive is checked whole before
anything moves; the objects DIR held before are kept as DIR/objects.before-restore-<time>.

Options:
  --from FILE        the archive dtbridge backup wrote
  --data DIR         the data directory                  [DTBRIDGE_DATA, default ./.dtbridge-data]
  -h, --help         this help

Exit codes: 0 restored, 1 failure (the directory in use, a damaged archive), 2 usage.`;

export const restore: Command = {
  name: "restore",
  summary: "put a backup back into a data directory (serve stopped)",
  help: HELP,
  async run(argv) {
    const { values } = flags(argv, { from: { type: "string" } });
    if (values.help) return printHelp(HELP);
    if (!values.from) throw new UsageError("--from FILE is required");
    const from = resolve(values.from);
    if (!existsSync(from)) throw new UsageError(`no such backup: ${from}`);
    const dataDir = dataDirOf(values.data);
    const progress = (line: string) => process.stderr.write(`dtbridge restore: ${line}\n`);

    mkdirSync(dataDir, { recursive: true });
    const lock = await acquireLock(dataDir, "restore", progress);
    const staging = mkdtempSync(join(dataDir, ".restore-"));
    try {
      const manifest = await unpack(from, staging);
      const objects = join(dataDir, OBJECTS_DIR);
      if (existsSync(objects) && readdirSync(objects).length > 0) {
        const aside = `${objects}.before-restore-${new Date().toISOString().replace(/[:.]/g, "-")}`;
        renameSync(objects, aside);
        progress(`kept what ${dataDir} held before in ${aside}`);
      } else {
        rmSync(objects, { recursive: true, force: true });
      }
      renameSync(join(staging, OBJECTS_DIR), objects);
      progress(
        `restored ${manifest.files.length} files from the backup dtbridge ${manifest.bridgeVersion} made at ${manifest.createdAt} into ${dataDir}`,
      );
      return EXIT.ok;
    } finally {
      rmSync(staging, { recursive: true, force: true });
      lock.release();
    }
  },
};
