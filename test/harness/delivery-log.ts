// What gateways printed (dtbridge tail's NDJSON, appended to one file), read as it grows, so each
// delivery has a time: first delivery per msgId, and how many deliveries there were in all.
import { closeSync, openSync, readSync, statSync } from "node:fs";

export class DeliveryLog {
  readonly firstAt = new Map<string, number>();
  deliveries = 0;
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
    for (const line of lines) {
      if (!line) continue;
      const msgId = JSON.parse(line).payload.msgId as string;
      this.deliveries++;
      if (!this.firstAt.has(msgId)) this.firstAt.set(msgId, Date.now());
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.read();
  }
}
