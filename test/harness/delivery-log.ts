// What gateways did (test/harness/gateway-process.ts's NDJSON, appended to one file), read as it
// grows: every handler run with its start and end on the shared monotonic clock, the first
// completion per msgId, and how many completions there were in all.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import type { Run } from "./ordering-check";

export interface GatewayRun extends Run {
  /** The ordering key the bridge gave the event. */
  key: string | null;
  attempt: number;
}

type Line =
  | { ev: "up" | "down"; pid: number; at: number }
  | {
      ev: "start";
      pid: number;
      at: number;
      run: number;
      consumer: string;
      conversation: string;
      key: string | null;
      seq: number;
      msgId: string;
      attempt: number;
    }
  | { ev: "end"; pid: number; at: number; run: number };

export class DeliveryLog {
  /** msgId -> when its first run completed (monotonic ms). */
  readonly firstAt = new Map<string, number>();
  /** Completed runs, re-runs included. */
  deliveries = 0;
  private readonly byRun = new Map<string, GatewayRun>();
  private offset = 0;
  private partial = "";
  private readonly timer: NodeJS.Timeout;

  constructor(readonly file: string) {
    this.timer = setInterval(() => this.read(), 50);
  }

  read(): void {
    let size = 0;
    try {
      size = statSync(this.file).size;
    } catch {
      return;
    }
    if (size <= this.offset) return;
    const fd = openSync(this.file, "r");
    const buf = Buffer.alloc(size - this.offset);
    readSync(fd, buf, 0, buf.length, this.offset);
    closeSync(fd);
    this.offset = size;
    const lines = (this.partial + buf.toString("utf8")).split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines) if (line) this.note(JSON.parse(line) as Line);
  }

  private note(line: Line): void {
    if (line.ev === "start") {
      const { pid, consumer, conversation, key, seq, msgId, attempt, at } = line;
      this.byRun.set(`${pid}:${line.run}`, { pid, consumer, conversation, key, seq, msgId, attempt, start: at, end: null });
    } else if (line.ev === "end") {
      const run = this.byRun.get(`${line.pid}:${line.run}`);
      if (!run) throw new Error(`${this.file}: run ${line.run} of pid ${line.pid} ended without a start`);
      run.end = line.at;
      this.deliveries++;
      if (!this.firstAt.has(run.msgId)) this.firstAt.set(run.msgId, line.at);
    }
  }

  runs(): GatewayRun[] {
    return [...this.byRun.values()];
  }

  /** Runs of this process started and not (yet) ended. */
  running(pid: number): number {
    return this.runs().filter((r) => r.pid === pid && r.end === null).length;
  }

  stop(): void {
    clearInterval(this.timer);
    this.read();
  }
}
