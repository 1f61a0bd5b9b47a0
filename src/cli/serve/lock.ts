// One process per data directory: serve (and backup or restore while serve is not running) holds
// DIR/serve.lock, a small JSON record naming its pid and, for serve, workerd's. A lock whose holder
// is gone is taken over; a workerd that outlived a killed serve is ended first, since two runtimes
// on one directory's SQLite files would corrupt them.
import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { LOCK_FILE, WORKERD_CONFIG_FILE } from "./layout";
import { commandLine, findProcesses, waitFor } from "./processes";

export interface LockRecord {
  pid: number;
  command: "serve" | "backup" | "restore";
  startedAt: string;
  /** serve's runtime, once started. */
  workerdPid?: number;
  url?: string;
}

export class DataDirBusyError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockRecord,
  ) {
    super(`the data directory ${dataDir} is in use by dtbridge ${holder.command} (pid ${holder.pid}); one process per directory`);
  }
}

export interface DataLock {
  record: LockRecord;
  update(fields: Partial<LockRecord>): void;
  release(): void;
}

export function readLock(dataDir: string): LockRecord | null {
  try {
    const record = JSON.parse(readFileSync(join(dataDir, LOCK_FILE), "utf8")) as LockRecord;
    return Number.isInteger(record.pid) ? record : null;
  } catch {
    return null;
  }
}

/** The holder still holds the directory only if its pid is alive and still runs that dtbridge command. */
export function holderAlive(record: LockRecord): boolean {
  if (record.pid === process.pid) return false; // a container restarted: the same pid, a new process
  const line = commandLine(record.pid);
  return line === undefined || (line.includes("dtbridge") && line.includes(record.command));
}

/** Whether `pid` is the workerd a serve started on this directory (checked by its config path). */
export function isWorkerdOf(dataDir: string, pid: number): boolean | undefined {
  const line = commandLine(pid);
  if (line === undefined) return undefined;
  return line.includes("workerd") && line.includes(resolve(dataDir, WORKERD_CONFIG_FILE));
}

export async function acquireLock(dataDir: string, command: LockRecord["command"], progress: (line: string) => void): Promise<DataLock> {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 5; attempt++) {
    const record: LockRecord = { pid: process.pid, command, startedAt: new Date().toISOString() };
    try {
      writeFileSync(path, JSON.stringify(record), { flag: "wx", mode: 0o644 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if (await takeOver(dataDir, path, progress)) continue;
      attempt--; // another process is writing its record this instant: look again
      continue;
    }
    // Held now: a runtime still running on the files has no serve (its lock is gone, or was never written).
    for (const pid of findProcesses(["workerd", resolve(dataDir, WORKERD_CONFIG_FILE)])) await endOrphan(dataDir, pid, progress);
    return handle(path, record);
  }
  throw new Error(`could not take the lock on ${dataDir}: ${path} keeps coming back`);
}

/**
 * Removes a lock whose holder is gone, ending the runtime it recorded; throws if the holder is alive.
 * Answers false when the lock is being written this instant (look again).
 */
async function takeOver(dataDir: string, path: string, progress: (line: string) => void): Promise<boolean> {
  const holder = readLock(dataDir);
  if (!holder && Date.now() - mtime(path) < 2_000) {
    await new Promise((r) => setTimeout(r, 100));
    return false;
  }
  if (holder && holderAlive(holder)) throw new DataDirBusyError(dataDir, holder);
  if (holder?.workerdPid) await endOrphan(dataDir, holder.workerdPid, progress);
  progress(`took over the lock of a dtbridge that is gone${holder ? ` (pid ${holder.pid})` : ""}`);
  try {
    unlinkSync(path);
  } catch {
    // someone else removed it first; the next create decides
  }
  return true;
}

/** A workerd whose serve was killed keeps the files open: end it before anything else opens them. */
async function endOrphan(dataDir: string, pid: number, progress: (line: string) => void): Promise<void> {
  const ours = isWorkerdOf(dataDir, pid);
  if (ours === false) return;
  if (ours === undefined) {
    throw new Error(
      `cannot tell whether process ${pid} is a workerd left running on ${dataDir}; end it, or remove ${join(dataDir, LOCK_FILE)}`,
    );
  }
  progress(`ending the workerd (pid ${pid}) a killed dtbridge serve left running on ${dataDir}`);
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  if (!(await waitFor(() => isWorkerdOf(dataDir, pid) === false, 10_000))) {
    throw new Error(`the workerd (pid ${pid}) left running on ${dataDir} did not end`);
  }
}

function handle(path: string, record: LockRecord): DataLock {
  return {
    record,
    update(fields) {
      Object.assign(record, fields);
      const tmp = `${path}.${process.pid}`;
      writeFileSync(tmp, JSON.stringify(record));
      renameSync(tmp, path);
    },
    release() {
      try {
        const current = JSON.parse(readFileSync(path, "utf8")) as LockRecord;
        if (current.pid === process.pid) unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
