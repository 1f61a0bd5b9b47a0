// The processes a test stage started, found by the marker every one of them inherits in its
// environment (wrangler dev, workerd and the Python bridges leave the stage's process group, and
// outlive a killed parent), and ending them. Linux's /proc; elsewhere only the stage's own group.
import { existsSync, readdirSync, readFileSync } from "node:fs";

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** How long it has run, as ps says it (e.g. 01:02). */
  etime: string;
  args: string;
}

/** Every process whose environment has `name=value`, this one excepted. */
export function markedWith(name: string, value: string): ProcessInfo[] {
  if (!existsSync("/proc/self/environ")) return [];
  const wanted = `${name}=${value}`;
  const found: ProcessInfo[] = [];
  const uptimeS = Number(readFileSync("/proc/uptime", "latin1").split(" ")[0]);
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!pid || pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, "latin1").split("\0").includes(wanted)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, "latin1");
      // The command name in parentheses may hold spaces; the fields after it do not.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const args = readFileSync(`/proc/${entry}/cmdline`, "latin1").split("\0").join(" ").trim();
      // Field 22 of stat, the start time, counts clock ticks since boot: 100 a second on Linux.
      const startedS = Number(fields[19]) / 100;
      found.push({ pid, ppid: Number(fields[1]), etime: `${Math.round(uptimeS - startedS)} s`, args });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/**
 * Ends these processes (and each one's process group) at once: all are stopped before any is
 * killed, so none of them can start another or restart what was killed.
 */
function endAll(pids: number[]): void {
  const send = (sig: NodeJS.Signals) => {
    for (const pid of pids) {
      for (const target of [pid, -pid])
        try {
          process.kill(target, sig);
        } catch {
          // gone, or not a group leader
        }
    }
  };
  send("SIGSTOP");
  send("SIGKILL");
}

/** Ends a stage: its shell, its group, and every process carrying its marker, stragglers included. */
export function endStage(root: number, name: string, value: string): void {
  endAll([root, ...markedWith(name, value).map((p) => p.pid)]);
  endAll(markedWith(name, value).map((p) => p.pid));
}
