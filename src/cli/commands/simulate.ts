import { robotSign } from "../../dingtalk/robot-sign";
import { sampleRobotMessage } from "../../dingtalk/sample-messages";
import { bridgeUrl, type Command, EXIT, intOption, parse, printHelp, UsageError, writeLine } from "../common";

export const simulate: Command = {
  name: "simulate",
  summary: "send correctly signed, DingTalk-shaped robot callbacks to a bridge",
  help: `Usage: dtbridge simulate [options]

Posts robot callbacks of every message type (text, richText, picture, audio, video, file,
unknownMsgType), signed as DingTalk signs them, to <url>/dingtalk/<app>/robot. Progress and a
summary go to stderr, with why any callback failed; with --ndjson, one line per callback goes to
stdout: {"msgId", "status", "ms", "error"?}.
Exit 0 when all were answered 200; 3 when the bridge refused the signature (a wrong --secret),
4 for an unknown app, 5 when the bridge could not be reached, 1 otherwise.

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
    if (values.help) return printHelp(this.help);
    const url = bridgeUrl(values);
    const secret = values.secret ?? process.env.DTBRIDGE_CLIENT_SECRET;
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
    /** Why callbacks failed: "401 bad_signature" and the like, with a count and the first message. */
    const reasons = new Map<string, { count: number; message: string }>();
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
      let error: { reason: string; message: string } | null = null;
      try {
        const res = await fetch(endpoint, {
          method: "POST",
          headers: { "content-type": "application/json; charset=utf-8", timestamp, sign: await robotSign(secret, timestamp) },
          body: JSON.stringify(body),
        });
        status = res.status;
        const text = await res.text();
        if (status !== 200) error = readError(status, text);
      } catch (e) {
        error = { reason: "unreachable", message: e instanceof Error ? e.message : String(e) };
      }
      const ms = Math.round((performance.now() - t0) * 100) / 100;
      if (error === null) accepted++;
      else {
        failed++;
        const seen = reasons.get(error.reason);
        reasons.set(error.reason, { count: (seen?.count ?? 0) + 1, message: seen?.message ?? error.message });
      }
      if (values.ndjson) await writeLine(JSON.stringify({ msgId: body.msgId, status, ms, ...(error ? { error: error.reason } : {}) }));
      progress.tick(accepted, failed);
    };
    await Promise.all(
      Array.from({ length: Math.min(concurrency, count) }, async () => {
        while (next < count) await sendOne(next++);
      }),
    );
    progress.done(accepted, failed, Date.now() - started);
    for (const [reason, { count, message }] of reasons) process.stderr.write(`simulate: ${count} × ${reason}: ${message}\n`);
    return exitFor(reasons);
  },
};

function readError(status: number, text: string): { reason: string; message: string } {
  try {
    const { error } = JSON.parse(text) as { error: { code: string; message: string } };
    return { reason: `${status} ${error.code}`, message: error.message };
  } catch {
    return { reason: `${status}`, message: text.slice(0, 200) || "no body" };
  }
}

/** One cause for every failure gives its own exit code; mixed causes give 1. */
function exitFor(reasons: Map<string, unknown>): number {
  if (reasons.size === 0) return EXIT.ok;
  const kinds = new Set([...reasons.keys()].map((r) => (r === "unreachable" ? "network" : r.split(" ")[0])));
  if (kinds.size !== 1) return EXIT.failure;
  const kind = [...kinds][0];
  return kind === "network" ? EXIT.network : kind === "401" ? EXIT.auth : kind === "404" ? EXIT.notFound : EXIT.failure;
}

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
