import { robotSign } from "../../dingtalk/robot-sign";
import { sampleRobotMessage } from "../../dingtalk/sample-messages";
import { type Command, EXIT, intOption, parse, UsageError, writeLine } from "../common";

export const simulate: Command = {
  name: "simulate",
  summary: "send correctly signed, DingTalk-shaped robot callbacks to a bridge",
  help: `Usage: dtbridge simulate [options]

Posts robot callbacks of every message type (text, richText, picture, audio, video, file,
unknownMsgType), signed as DingTalk signs them, to <url>/dingtalk/<app>/robot. Progress and a
summary go to stderr; with --ndjson, one line per callback goes to stdout:
{"msgId", "status", "ms"}. Exit 1 if any callback was not answered 200.

Options:
  --count N          callbacks to send (default 10)
  --rate N           at most N per second (default: as fast as --concurrency allows)
  --concurrency N    callbacks in flight at once (default 1)
  --secret SECRET    the app's client secret       [DTBRIDGE_CLIENT_SECRET]
  --text TEXT        text content for text messages
  --ndjson           one line per callback on stdout
  --url URL          bridge base URL                [DTBRIDGE_URL]
  --app NAME         app name                       [DTBRIDGE_APP, default "default"]
  -h, --help         this help`,
  async run(argv) {
    const { values } = parse(argv, {
      count: { type: "string" },
      rate: { type: "string" },
      concurrency: { type: "string" },
      secret: { type: "string" },
      text: { type: "string" },
      ndjson: { type: "boolean" },
    });
    if (values.help) return (process.stdout.write(`${this.help}\n`), EXIT.ok);
    const url = values.url ?? process.env.DTBRIDGE_URL;
    const secret = values.secret ?? process.env.DTBRIDGE_CLIENT_SECRET;
    if (!url) throw new UsageError("no bridge URL: pass --url or set DTBRIDGE_URL");
    if (!secret) throw new UsageError("no client secret: pass --secret or set DTBRIDGE_CLIENT_SECRET");
    const app = values.app ?? process.env.DTBRIDGE_APP ?? "default";
    const count = intOption(values.count, "count", 10, 0);
    const rate = values.rate === undefined ? 0 : intOption(values.rate, "rate", 0, 1);
    const concurrency = intOption(values.concurrency, "concurrency", 1, 1, 256);
    const endpoint = `${url.replace(/\/+$/, "")}/dingtalk/${encodeURIComponent(app)}/robot`;

    let next = 0;
    let lastTimestamp = 0;
    let accepted = 0;
    let failed = 0;
    const started = Date.now();
    const progress = new Progress(count);
    const sendOne = async (index: number) => {
      if (rate) await sleepUntil(started + (index * 1000) / rate);
      const body = sampleRobotMessage(values.text ? { text: values.text } : {}, index);
      // Every callback signs its own millisecond: the bridge takes one signature for one message only.
      lastTimestamp = Math.max(Date.now(), lastTimestamp + 1);
      const timestamp = String(lastTimestamp);
      const t0 = performance.now();
      let status = 0;
      try {
        const res = await fetch(endpoint, {
          method: "POST",
          headers: { "content-type": "application/json; charset=utf-8", timestamp, sign: await robotSign(secret, timestamp) },
          body: JSON.stringify(body),
        });
        status = res.status;
        await res.arrayBuffer();
      } catch {
        status = 0;
      }
      const ms = Math.round((performance.now() - t0) * 100) / 100;
      if (status === 200) accepted++;
      else failed++;
      if (values.ndjson) await writeLine(JSON.stringify({ msgId: body.msgId, status, ms }));
      progress.tick(accepted, failed);
    };
    await Promise.all(
      Array.from({ length: Math.min(concurrency, count) }, async () => {
        while (next < count) await sendOne(next++);
      }),
    );
    progress.done(accepted, failed, Date.now() - started);
    return failed ? EXIT.failure : EXIT.ok;
  },
};

class Progress {
  private last = 0;
  constructor(private readonly total: number) {}
  tick(ok: number, bad: number): void {
    const now = Date.now();
    if (now - this.last < 500) return;
    this.last = now;
    const line = `simulate: ${ok + bad}/${this.total} sent, ${bad} failed`;
    process.stderr.write(process.stderr.isTTY ? `\r${line}` : `${line}\n`);
  }
  done(ok: number, bad: number, ms: number): void {
    if (process.stderr.isTTY) process.stderr.write("\r");
    process.stderr.write(`simulate: ${ok} accepted, ${bad} failed, in ${(ms / 1000).toFixed(1)} s\n`);
  }
}

function sleepUntil(t: number): Promise<void> {
  const ms = t - Date.now();
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}
