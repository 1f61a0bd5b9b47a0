// A consistent copy of every object's SQLite files while serve runs: workerd is frozen (SIGSTOP),
// the files are copied, and it is resumed (SIGCONT). The copy is what a kill -9 at that instant
// would leave on disk, which SQLite and the bridge survive by design (every commit is on disk
// before its answer leaves). A watchdog resumes workerd however this process ends.
import { type ChildProcess, spawn } from "node:child_process";
import { constants, copyFileSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

export interface CopiedFile {
  path: string;
  bytes: number;
}

/**
 * Copies `from` into `to`, leaving out SQLite's -shm files (an index SQLite rebuilds from the WAL;
 * copied mid-write it could mislead). Copy-on-write clones where the file system offers them.
 */
export function copyTree(from: string, to: string, root = from): CopiedFile[] {
  mkdirSync(to, { recursive: true });
  const copied: CopiedFile[] = [];
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    if (entry.isDirectory()) copied.push(...copyTree(source, join(to, entry.name), root));
    else if (entry.isFile() && !entry.name.endsWith("-shm")) {
      copyFileSync(source, join(to, entry.name), constants.COPYFILE_FICLONE);
      copied.push({ path: relative(root, source), bytes: statSync(source).size });
    }
  }
  return copied;
}

/** Runs `copy` with process `pid` frozen; answers its result and how long the process stood still. */
export async function whileFrozen<T>(pid: number, maxPauseMs: number, copy: () => T): Promise<{ result: T; pauseMs: number }> {
  const watchdog = resumeLater(pid, maxPauseMs);
  const resume = () => {
    try {
      process.kill(pid, "SIGCONT");
    } catch {
      // gone meanwhile
    }
  };
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const onSignal = () => {
    resume();
    process.exit(130);
  };
  for (const s of signals) process.once(s, onSignal);
  const started = performance.now();
  try {
    process.kill(pid, "SIGSTOP");
    await untilStopped(pid);
    const result = copy();
    resume();
    const pauseMs = performance.now() - started;
    if (pauseMs >= maxPauseMs) {
      throw new Error(`the copy took ${Math.round(pauseMs)} ms, past --max-pause ${maxPauseMs} ms: workerd was resumed before it ended`);
    }
    return { result, pauseMs };
  } finally {
    resume();
    for (const s of signals) process.off(s, onSignal);
    try {
      process.kill(-watchdog.pid!, "SIGKILL");
    } catch {
      // already done
    }
  }
}

/** A detached shell that resumes the process after `ms` even if this one is killed meanwhile. */
function resumeLater(pid: number, ms: number): ChildProcess {
  const child = spawn("sh", ["-c", `sleep ${Math.ceil(ms / 1000)}; kill -CONT ${pid}`], { detached: true, stdio: "ignore" });
  child.unref();
  return child;
}

/** On Linux, waits until every thread of the process has stopped; elsewhere, a moment. */
async function untilStopped(pid: number): Promise<void> {
  const deadline = Date.now() + 2_000;
  for (;;) {
    let states: string[];
    try {
      states = readdirSync(`/proc/${pid}/task`).map((t) => {
        const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      });
    } catch {
      await new Promise((r) => setTimeout(r, 50));
      return;
    }
    if (states.every((s) => s === "T" || s === "t" || s === "Z" || s === "X")) return;
    if (Date.now() > deadline) throw new Error(`workerd (pid ${pid}) did not stop for the copy`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
