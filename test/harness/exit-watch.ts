// A vitest run that has finished its last test should end within seconds. If something keeps it
// alive (a socket a test left open, a server that will not close, a runtime that will not stop),
// this reporter says what, from Node's own list of open handles and this process's children, and
// ends the run as failed instead of letting it hang.
import { readdirSync, readFileSync } from "node:fs";
import type { Reporter } from "vitest/node";

const GRACE_MS = 60_000;

interface Handle {
  type: string;
  is_active: boolean;
  is_referenced: boolean;
  localEndpoint?: { host: string; port: number } | null;
  remoteEndpoint?: { host: string; port: number } | null;
  pid?: number;
}

export class ExitWatch implements Reporter {
  constructor(private readonly names: Record<number, string> = {}) {}

  onTestRunEnd(): void {
    setTimeout(() => {
      process.stderr.write(`\nvitest has not ended ${GRACE_MS / 1000} s after its last test; what keeps it alive:\n${this.holding()}\n`);
      process.exit(1);
    }, GRACE_MS).unref();
  }

  private holding(): string {
    const report = process.report.getReport() as unknown as { libuv: Handle[] };
    const at = (e: Handle["localEndpoint"]) => (e ? `${e.host}:${e.port}${this.names[e.port] ? ` (${this.names[e.port]})` : ""}` : "-");
    const handles = report.libuv
      .filter((h) => h.is_active && h.is_referenced && h.type !== "timer")
      .map((h) => `  ${h.type}${h.pid ? ` pid ${h.pid}` : ""} ${at(h.localEndpoint)} <-> ${at(h.remoteEndpoint)}`);
    return [...handles, ...children().map((c) => `  child process ${c}`)].join("\n");
  }
}

/** This process's child processes, with their command lines (Linux). */
function children(): string[] {
  try {
    return readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .flatMap((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
          if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) !== process.pid) return [];
          return [`${pid} ${readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ").slice(0, 200)}`];
        } catch {
          return [];
        }
      });
  } catch {
    return [];
  }
}
