// How a check reads on a terminal: the verdict, the check, what was found and, for a failure, the
// fix below it. Pure.
import type { CheckLine } from "./checks";

const MARK = { pass: "pass", fail: "FAIL", skip: "skip" } as const;
const WIDTH = "robot-permission".length;

export function renderLine(line: CheckLine): string {
  const head = `${MARK[line.verdict]}  ${line.check.padEnd(WIDTH)}  ${line.detail}`;
  return line.fix ? `${head}\n${" ".repeat(WIDTH + 8)}fix: ${line.fix}` : head;
}

export function summary(lines: readonly CheckLine[]): string {
  const count = (v: CheckLine["verdict"]) => lines.filter((l) => l.verdict === v).length;
  return `${count("pass")} passed, ${count("fail")} failed, ${count("skip")} not applicable`;
}
