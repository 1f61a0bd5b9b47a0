// Runs a test run's stages side by side, within a budget of busy cores, with their output held back:
// a stage that passes prints one line (its time and counts), the first that fails prints its whole
// output and ends the others. Used by scripts/test.ts.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../test/harness/processes";
import { endStage, markedWith } from "./stage-processes";

export interface Stage {
  name: string;
  /** A shell command, run at the repository root with node_modules/.bin on the PATH. */
  run: string;
  /** Stages that must have passed first. */
  needs?: string[];
  /** About how many cores it keeps busy while it runs (most stages wait on timers and sockets). */
  load: number;
  /** Its counts for the one line a passing stage gets, read from its output. */
  summary?: (output: string) => string;
  env?: Record<string, string>;
  /** A stage still running after this long has hung: its processes are listed and it fails. */
  limitS?: number;
  /** An exit code that means "passed, but could not end" (a hung teardown): the stage runs once more. */
  rerunOn?: { code: number; why: string };
}

export interface RunOptions {
  /** The cores' worth of work to keep running at once. */
  budget: number;
  /** Every stage's output, printed as it ends, not only a failing one's. */
  verbose: boolean;
  /** Output shown as it comes (one stage at work), not held back. */
  live: boolean;
}

interface Running {
  stage: Stage;
  /** This is the stage's second run (after a `rerunOn` exit). */
  rerun: boolean;
  child: ChildProcess;
  /** In the environment of every process the stage starts, so none of them can be missed. */
  marker: string;
  output: string[];
  started: number;
}

const DEFAULT_LIMIT_S = 600;
const MARKER = "TEST_STAGE";
const print = (line: string) => process.stdout.write(`${line}\n`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are what it removes
const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "");

/** Runs the stages; resolves true when all passed. */
export async function runStages(stages: Stage[], options: RunOptions): Promise<boolean> {
  const waiting = [...stages];
  const passed = new Set<string>();
  const running = new Set<Running>();
  const runStart = Date.now();
  let failed = false;
  let wake = () => {};
  const changed = () => new Promise<void>((resolve) => (wake = resolve));

  const busy = () => [...running].reduce((n, r) => n + r.stage.load, 0);
  const ready = (s: Stage) => (s.needs ?? []).every((n) => passed.has(n));
  const stopAll = (why: string) => {
    failed = true;
    waiting.length = 0;
    if (running.size) print(`  stopping ${[...running].map((r) => r.stage.name).join(", ")} (${why})`);
    for (const r of running) endStage(r.child.pid!, MARKER, r.marker);
  };
  const onSignal = () => {
    stopAll("interrupted");
    process.exitCode = 130;
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const finish = (run: Running, code: number | null, signal: NodeJS.Signals | null) => {
    running.delete(run);
    const { stage } = run;
    // When it started within the run, and how long it took: what ran beside what.
    const took = `${seconds(run.started - runStart).padStart(7)} +${seconds(Date.now() - run.started).padStart(7)}`;
    const output = run.output.join("");
    // Whatever the stage left running would hold ports and cores, and hide a missing clean-up.
    const left = markedWith(MARKER, run.marker);
    if (left.length) endStage(run.child.pid!, MARKER, run.marker);
    const leftNote = left.length ? `  left running, now ended: ${left.map((p) => `${p.pid} ${p.args.slice(0, 120)}`).join("; ")}` : "";
    if (stage.rerunOn && code === stage.rerunOn.code && !run.rerun && !failed) {
      print(`  ↻ ${stage.name.padEnd(16)} ${took}  ${stage.rerunOn.why}; running it again`);
      start(stage, true);
    } else if (code === 0) {
      passed.add(stage.name);
      print(`  ✓ ${stage.name.padEnd(16)} ${took}  ${stage.summary?.(plain(output)) ?? ""}`.trimEnd());
      if (leftNote) print(leftNote);
      if (options.verbose) print(output);
    } else if (!failed) {
      const how = signal ? `ended by ${signal}` : `exit ${code}`;
      print(`  ✗ ${stage.name.padEnd(16)} ${took}  (${how})${options.live ? "" : "; its output:\n"}`);
      if (!options.live) print(output);
      if (leftNote) print(leftNote);
      const named = failingTests(plain(output));
      if (named.length) print(`  ${stage.name} failed in:\n${named.map((l) => `    ${l}`).join("\n")}`);
      stopAll(`${stage.name} failed`);
    }
    wake();
  };

  const start = (stage: Stage, rerun = false) => {
    const marker = `${process.pid}:${stage.name}`;
    const child = spawn("sh", ["-c", stage.run], {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        ...(options.live && process.stdout.isTTY ? { FORCE_COLOR: "1" } : {}),
        ...stage.env,
        PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}`,
        [MARKER]: marker,
      },
    });
    const run: Running = { stage, rerun, child, marker, output: [], started: Date.now() };
    running.add(run);
    const keep = (chunk: Buffer) => (options.live ? process.stdout.write(chunk) : run.output.push(chunk.toString()));
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    const limitS = stage.limitS ?? DEFAULT_LIMIT_S;
    const limit = setTimeout(() => {
      const list = markedWith(MARKER, marker).map((p) => `  ${p.pid} (parent ${p.ppid}, ${p.etime}) ${p.args.slice(0, 300)}`);
      const note = `\n${stage.name} still running after ${limitS} s; its processes:\n${list.join("\n")}\n`;
      if (options.live) print(note);
      else run.output.push(note);
      endStage(child.pid!, MARKER, marker);
    }, limitS * 1000);
    // A process the stage started may outlive it holding its output open: the stage ends at its exit.
    child.once("exit", (code, signal) => {
      clearTimeout(limit);
      const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
      void Promise.race([closed, new Promise((r) => setTimeout(r, 2_000))]).then(() => finish(run, code, signal));
    });
  };

  while ((waiting.length || running.size) && !failed) {
    // In order, without overtaking: a stage waiting for room, or for a stage it needs, keeps its
    // room; later ones take only what is left. Otherwise light stages would keep a heavy one
    // waiting. One stage may always run, however heavy.
    let planned = busy();
    for (const stage of [...waiting]) {
      if (!ready(stage) || (running.size && planned + stage.load > options.budget)) {
        planned += stage.load;
        continue;
      }
      waiting.splice(waiting.indexOf(stage), 1);
      start(stage);
      planned += stage.load;
    }
    if (!running.size && waiting.length) {
      print(`  cannot run ${waiting.map((s) => s.name).join(", ")}: they need stages that are not in this run`);
      return false;
    }
    await changed();
  }
  while (running.size) await changed();
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  if (!failed) print(`  ${stages.length === 1 ? "passed" : `all ${stages.length} stages passed`} in ${seconds(Date.now() - runStart)}`);
  return !failed;
}

/**
 * The lines naming what failed (vitest's "FAIL" and "×", unittest's "FAIL:" and "ERROR:"), repeated
 * last: a log cut to its tail, as CI's is, must still say which test it was.
 */
function failingTests(output: string): string[] {
  const lines = output.split("\n").map((l) => l.trim());
  const named = lines.filter((l) => /^(FAIL\b|×|✗|ERROR:)/.test(l));
  return [...new Set(named)].slice(0, 20);
}
