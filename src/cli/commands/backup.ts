// dtbridge backup: a consistent copy of every object's SQLite files, while serve runs or not.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { type Command, EXIT, intOption, printHelp, UsageError } from "../common";
import { type BackupManifest, pack } from "../serve/archive";
import { dataDirOf, OBJECTS_DIR } from "../serve/layout";
import { acquireLock, DataDirBusyError, holderAlive, isWorkerdOf, readLock } from "../serve/lock";
import { copyTree, whileFrozen } from "../serve/snapshot";

const HELP = `Usage: dtbridge backup --out FILE [--data DIR] [--max-pause MS]

Writes a consistent copy of every Durable Object's SQLite files under DIR to FILE (a .tar.gz), while
dtbridge serve runs on DIR or not. A running serve's workerd is frozen while the files are copied
(the copy is exactly what a kill -9 at that instant would leave, which the bridge survives) and
resumed at once; the pause is printed. Restore with dtbridge restore.

Options:
  --out FILE         the archive to write (replaced whole, never half-written)
  --data DIR         the data directory                  [DTBRIDGE_DATA, default ./.dtbridge-data]
  --max-pause MS     longest workerd may stand still; a slower copy fails   [default 30000]
  -h, --help         this help

Prints one JSON line: {file, bytes, files, live, pauseMs}.
Exit codes: 0 written, 1 failure, 2 usage.`;

export const backup: Command = {
  name: "backup",
  summary: "copy every object's SQLite files to a .tar.gz, while serve runs",
  help: HELP,
  async run(argv) {
    const { values } = flags(argv, { out: { type: "string" }, "max-pause": { type: "string" } });
    if (values.help) return printHelp(HELP);
    if (!values.out) throw new UsageError("--out FILE is required");
    const out = resolve(values.out);
    const dataDir = dataDirOf(values.data);
    const maxPauseMs = intOption(values["max-pause"], "max-pause", 30_000, 100, 600_000);
    const progress = (line: string) => process.stderr.write(`dtbridge backup: ${line}\n`);

    const objects = join(dataDir, OBJECTS_DIR);
    if (!existsSync(objects)) throw new UsageError(`${dataDir} holds no bridge data (no ${OBJECTS_DIR}/ folder)`);
    const staging = mkdtempSync(join(dataDir, ".backup-"));
    try {
      const holder = readLock(dataDir);
      let manifest: BackupManifest;
      if (holder && holderAlive(holder)) {
        if (holder.command !== "serve") throw new DataDirBusyError(dataDir, holder);
        if (!holder.workerdPid || !isWorkerdOf(dataDir, holder.workerdPid)) {
          throw new Error(`dtbridge serve (pid ${holder.pid}) on ${dataDir} has no runtime running yet; try again in a moment`);
        }
        const { result, pauseMs } = await whileFrozen(holder.workerdPid, maxPauseMs, () => copyTree(objects, join(staging, OBJECTS_DIR)));
        progress(`workerd (pid ${holder.workerdPid}) stood still for ${pauseMs.toFixed(1)} ms while ${result.length} files were copied`);
        manifest = { ...header(true), pauseMs: round(pauseMs), files: result };
      } else {
        const lock = await acquireLock(dataDir, "backup", progress);
        try {
          manifest = { ...header(false), pauseMs: null, files: copyTree(objects, join(staging, OBJECTS_DIR)) };
        } finally {
          lock.release();
        }
      }
      const bytes = await pack(staging, manifest, out);
      const stored = manifest.files.reduce((n, f) => n + f.bytes, 0);
      progress(`wrote ${out}: ${manifest.files.length} files, ${stored} bytes of SQLite in ${bytes} bytes`);
      process.stdout.write(
        `${JSON.stringify({ file: out, bytes, files: manifest.files.length, live: manifest.live, pauseMs: manifest.pauseMs })}\n`,
      );
      return EXIT.ok;
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  },
};

/** Set by the build from package.json. */
declare const DTBRIDGE_VERSION: string;

function header(live: boolean) {
  return {
    format: "dtbridge-backup" as const,
    version: 1 as const,
    createdAt: new Date().toISOString(),
    bridgeVersion: DTBRIDGE_VERSION,
    live,
  };
}

const round = (ms: number) => Math.round(ms * 10) / 10;

const dataOptions = {
  data: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

/** The command's own flags, with --data and --help. */
export function flags<O extends ParseArgsConfig["options"]>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...dataOptions, ...options }, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
