// doctor's output: one line per check as it finishes, readable or NDJSON, and a closing count.
import { writeLine } from "../common";
import type { CheckLine } from "./checks";
import { renderLine, summary } from "./render";

export class Report {
  readonly lines: CheckLine[] = [];

  constructor(private readonly json: boolean) {}

  async add(line: CheckLine): Promise<void> {
    this.lines.push(line);
    await writeLine(this.json ? JSON.stringify(line) : renderLine(line));
  }

  /** The count goes to stdout for people, to stderr beside NDJSON, so the stream stays one check a line. */
  async close(): Promise<void> {
    if (this.json) process.stderr.write(`dtbridge doctor: ${summary(this.lines)}\n`);
    else await writeLine(`\n${summary(this.lines)}`);
  }
}
