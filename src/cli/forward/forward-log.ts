// What dtbridge forward says about each message: one NDJSON line on stdout when it is piped into
// another program, a readable line on stderr on a terminal; and the totals at the end.
import type { SendResult } from "../../client/types";
import { writeLine } from "../common";

export interface ForwardRecord {
  at: number;
  id: string;
  seq: number;
  kind: "robot" | "event";
  attempt: number;
  orderingKey: string | null;
  /** The bot's HTTP status; absent when it gave no answer. */
  status?: number;
  ms: number;
  delivered: boolean;
  reply?: SendResult;
  /** Why an inline answer was not sent, or what of it was left out. */
  note?: string;
  error?: string;
}

export class ForwardLog {
  delivered = 0;
  failed = 0;
  replies = 0;

  constructor(private readonly ndjson: boolean) {}

  async record(r: ForwardRecord): Promise<void> {
    if (r.delivered) this.delivered++;
    else this.failed++;
    if (r.reply) this.replies++;
    if (this.ndjson) return writeLine(JSON.stringify(r));
    process.stderr.write(`${humanLine(r)}\n`);
  }

  summary(): string {
    return `${this.delivered} delivered, ${this.failed} failed (nacked), ${this.replies} inline replies sent`;
  }
}

function humanLine(r: ForwardRecord): string {
  const time = new Date(r.at).toTimeString().slice(0, 8);
  const what = `${time} seq ${r.seq} ${r.kind}${r.attempt > 1 ? ` (try ${r.attempt})` : ""}`;
  const answer = r.status === undefined ? "no answer" : String(r.status);
  const parts = [`${what} → ${answer} in ${Math.round(r.ms)} ms`];
  if (r.reply) parts.push(r.reply.state === "sent" ? `reply sent via ${r.reply.via}` : "reply queued by the bridge");
  if (r.note) parts.push(r.note);
  if (r.error) parts.push(`nacked: ${r.error}`);
  return parts.join("; ");
}
