// A backup archive: a gzipped tar of the data directory's objects/ folder (every Durable Object's
// SQLite files) and a manifest listing each file with its size, checked on restore.
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tar from "tar";
import type { CopiedFile } from "./snapshot";

export const MANIFEST_FILE = "dtbridge-backup.json";

export interface BackupManifest {
  format: "dtbridge-backup";
  version: 1;
  createdAt: string;
  /** The dtbridge that wrote it: the schemas in the files are that version's or older. */
  bridgeVersion: string;
  /** Copied from a running serve (workerd frozen for pauseMs) or from a stopped directory. */
  live: boolean;
  pauseMs: number | null;
  files: CopiedFile[];
}

/** Packs `staging` (holding objects/) with its manifest into `out`, written whole or not at all. */
export async function pack(staging: string, manifest: BackupManifest, out: string): Promise<number> {
  writeFileSync(join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  const partial = `${out}.partial`;
  await tar.create({ gzip: true, cwd: staging, file: partial, portable: true }, [MANIFEST_FILE, "objects"]);
  renameSync(partial, out);
  return statSync(out).size;
}

/** Unpacks `file` into `staging` and checks it is a whole backup; answers its manifest. */
export async function unpack(file: string, staging: string): Promise<BackupManifest> {
  await tar.extract({ file, cwd: staging, strict: true });
  const path = join(staging, MANIFEST_FILE);
  if (!existsSync(path)) throw new Error(`${file} is not a dtbridge backup: it has no ${MANIFEST_FILE}`);
  const manifest = JSON.parse(readFileSync(path, "utf8")) as BackupManifest;
  if (manifest.format !== "dtbridge-backup" || manifest.version !== 1)
    throw new Error(`${file} is a backup format this dtbridge does not know`);
  for (const f of manifest.files) {
    const copy = join(staging, "objects", f.path);
    if (!existsSync(copy) || statSync(copy).size !== f.bytes)
      throw new Error(`${file} is damaged: objects/${f.path} is missing or cut short`);
  }
  return manifest;
}
