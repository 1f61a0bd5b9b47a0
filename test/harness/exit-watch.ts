// A vitest run that has finished its last test should end within seconds. If something keeps it
// alive (a socket a test left open, a server that will not close, a runtime that will not stop),
// this reporter says what, from Node's own list of open handles and this process's children, and
// ends the run as failed instead of letting it hang.
//
// One hang comes before the run's end is even reported: every test file has finished, and the
// pool's teardown never returns (@cloudflare/vitest-pool-workers 0.15 can wait forever in
// Miniflare's dispose; later releases bound it). Seen twice in about a dozen runs of the workerd
// suite here, only with other suites running beside it. When every file passed, the run exits
// with TEARDOWN_HUNG so that the test runner can run the suite again; a failed file fails as usual.
import { readdirSync, readFileSync } from "node:fs";
import type { Reporter, TestModule, TestSpecification } from "vitest/node";

const GRACE_MS = 60_000;
/** The exit code of a run whose every test file passed and whose teardown then hung (EX_TEMPFAIL). */
export const TEARDOWN_HUNG = 75;

interface Handle {
  type: string;
  is_active: boolean;
  is_referenced: boolean;
  localEndpoint?: { host: string; port: number } | null;
  remoteEndpoint?: { host: string; port: number } | null;
  pid?: number;
}

export class ExitWatch implements Reporter {
  private files = 0;
  private ended = 0;
  private allPassed = true;
  private teardown: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly names: Record<number, string> = {}) {}

  onTestRunStart(specifications: ReadonlyArray<TestSpecification>): void {
    this.files = specifications.length;
  }

  onTestModuleEnd(module: TestModule): void {
    this.ended++;
    this.allPassed &&= module.ok();
    if (this.ended !== this.files) return;
    this.teardown = setTimeout(() => {
      const verdict = this.allPassed ? "every one passed" : "some failed";
      process.stderr.write(
        `\nall ${this.files} test files have finished (${verdict}), but vitest has not reported the run's end ${GRACE_MS / 1000} s later: its pool's teardown is stuck. What keeps it alive:\n${this.holding()}\n`,
      );
      process.exit(this.allPassed ? TEARDOWN_HUNG : 1);
    }, GRACE_MS);
    this.teardown.unref();
  }

  onTestRunEnd(): void {
    if (this.teardown) clearTimeout(this.teardown);
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
