// npm test: every check and every suite, built once, side by side where two cores allow (most
// suites wait on timers, sockets and child processes more than they compute), quiet when green.
//
//   npm test                          everything; one line per stage, a failing stage's whole output
//   npm test -- --verbose             every stage's output as it ends
//   npm run test:unit -- test/inbox   one stage (and what it needs), extra arguments passed on
//   TEST_BUDGET=1 npm test            fewer stages at once (cores' worth of work; default 2 per core)
//
// A stage's `load` is about how many cores it keeps busy; the runner keeps their sum within the budget.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { TEARDOWN_HUNG } from "../test/harness/exit-watch";
import { ROOT } from "../test/harness/processes";
import { runStages, type Stage } from "./stage-runner";

/** vitest's closing lines: "Tests  379 passed (379)" and "Test Files  46 passed (46)". */
function vitestCounts(output: string): string {
  const tests = /^\s*Tests\s+(.+)$/m.exec(output)?.[1];
  const files = /^\s*Test Files\s+(.+)$/m.exec(output)?.[1];
  return tests ? `tests ${tests}; files ${files}` : "";
}

/** unittest's closing lines: "Ran 32 tests in 25.2s" and "OK (skipped=1)". */
function unittestCounts(output: string): string {
  const ran = /^Ran (\d+) tests?/m.exec(output)?.[1];
  const verdict = /^(OK.*)$/m.exec(output)?.[1];
  return ran ? `${ran} tests, ${verdict}` : "";
}

/** The chaos run's JSON report: what was accepted, lost, and what was killed on the way. */
function chaosCounts(output: string): string {
  const line = output.split("\n").find((l) => l.startsWith('{"mode"'));
  if (!line) return "";
  const r = JSON.parse(line);
  const opens = r.stream ? `, Stream opens ${JSON.stringify(r.stream.opensPerApp)}` : "";
  return `${r.accepted} accepted, ${r.lost} lost, ${r.deliveredMoreThanOnce} twice; ${r.gatewayRestarts} gateway kills and ${r.runtimeKills} runtime kill in ${r.stormSeconds} s${opens}`;
}

const firstLine = (prefix: string) => (output: string) => output.split("\n").find((l) => l.startsWith(prefix)) ?? "";

/** The checks that stand alone keep their command in package.json; the runner runs that. */
const { scripts } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
const script = (name: string) => scripts[name]!;

// In order of priority: the longest first, so that the short ones fill in around them.
const STAGES: Stage[] = [
  // workerd tests: vitest runs two files at once (vitest.config.ts), each in a workerd of its own.
  {
    name: "unit",
    run: "vitest run",
    load: 1.3,
    summary: vitestCounts,
    rerunOn: { code: TEARDOWN_HUNG, why: "every test file passed, then the pool's teardown hung (test/harness/exit-watch.ts)" },
  },
  { name: "build", run: script("build"), load: 1 },
  { name: "lint", run: script("lint"), load: 1 },
  { name: "layers", run: script("check:layers"), load: 1 },
  { name: "wrangler-types", run: script("check:types"), load: 1 },
  { name: "static-files", run: script("check:static"), load: 1 },
  { name: "openapi-lint", run: script("check:openapi"), load: 1 },
  { name: "e2e", run: "vitest run -c vitest.e2e.config.ts", needs: ["build"], load: 1, summary: vitestCounts },
  { name: "chaos:webhook", run: "tsx scripts/chaos.ts --quick", needs: ["build"], load: 0.4, summary: chaosCounts },
  { name: "chaos:link", run: "tsx scripts/chaos.ts --quick --link", needs: ["build"], load: 0.4, summary: chaosCounts },
  { name: "chaos:serve", run: "tsx scripts/chaos.ts --quick --serve", needs: ["build"], load: 0.4, summary: chaosCounts },
  { name: "python", run: "python3 -m unittest discover -s clients/python -v", load: 0.3, summary: unittestCounts },
  { name: "hermes", run: "python3 -m unittest discover -s clients/hermes -v", load: 0.3, summary: unittestCounts },
  {
    name: "e2e:serve",
    run: "vitest run -c vitest.e2e.config.ts test/e2e/ingress.test.ts test/e2e/stream-link.test.ts",
    env: { BRIDGE_RUNTIME: "serve" },
    needs: ["build"],
    load: 0.5,
    summary: vitestCounts,
  },
  { name: "typecheck", run: script("typecheck"), load: 1 },
  { name: "bundle", run: script("check:bundle"), load: 1, summary: firstLine("bundle:") },
  { name: "published-types", run: "tsc -p test/types", needs: ["build"], load: 1 },
];

const matches = (name: string, stage: Stage) => stage.name === name || (name.endsWith(":") && stage.name.startsWith(name));

/** What `npm run test:<group>` asked for: names, or a prefix ending in ":" (chaos: its three modes). */
function select(names: string[]): Stage[] {
  const unknown = names.filter((n) => !STAGES.some((s) => matches(n, s)));
  if (unknown.length) {
    process.stderr.write(`unknown stage ${unknown.join(", ")}; stages: ${STAGES.map((s) => s.name).join(", ")}\n`);
    process.exit(2);
  }
  return names.length ? STAGES.filter((s) => names.some((n) => matches(n, s))) : STAGES;
}

const argv = process.argv.slice(2);
const dashes = argv.indexOf("--");
const own = dashes < 0 ? argv : argv.slice(0, dashes);
const extraArgs = dashes < 0 ? [] : argv.slice(dashes + 1);
let chosen = select(own.filter((a) => a !== "--verbose"));
// One stage asked for by name is someone at work on it: its output as it comes, arguments passed on.
const live = chosen.length === 1 && own.length > 0;
if (extraArgs.length) {
  if (chosen.length !== 1) {
    process.stderr.write("arguments after -- go to one stage: name exactly one\n");
    process.exit(2);
  }
  chosen = [{ ...chosen[0]!, run: `${chosen[0]!.run} ${extraArgs.map(quote).join(" ")}` }];
}
// What a chosen stage needs runs first (the build before the end-to-end tests).
const needed = new Set(chosen.flatMap((s) => s.needs ?? []));
const stages = [...STAGES.filter((s) => needed.has(s.name) && !chosen.includes(s)), ...chosen];
const budget = Number(process.env.TEST_BUDGET) || 2 * availableParallelism();
const ok = await runStages(stages, { budget, verbose: own.includes("--verbose"), live });
process.exitCode ||= ok ? 0 : 1;

function quote(arg: string): string {
  return /^[\w./:=@-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
