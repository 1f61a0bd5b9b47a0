// What a process id stands for now: alive or not, and its command line, so a lock left by a dead
// process (or a pid the system has since reused) is told apart from a live holder.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Alive, or a zombie not yet reaped; a process of another user counts as alive. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The process's command line; "" for a zombie; undefined when it cannot be read. */
export function commandLine(pid: number): string | undefined {
  if (!processExists(pid)) return "";
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
  } catch {
    // Not Linux (or no /proc): ask ps, which macOS always has.
  }
  try {
    return execFileSync("ps", ["-o", "command=", "-p", String(pid)], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return processExists(pid) ? undefined : "";
  }
}

/** Waits until `gone()` holds, polling; answers whether it did within `ms`. */
export async function waitFor(gone: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!gone()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

/** Processes whose command line holds every one of `parts` (Linux; elsewhere none are found). */
export function findProcesses(parts: string[]): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  return entries.map(Number).filter((pid) => {
    if (pid === process.pid) return false;
    try {
      const line = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      return parts.every((p) => line.includes(p));
    } catch {
      return false;
    }
  });
}
