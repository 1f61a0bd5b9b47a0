import { CONNECTION_HELP, type Command, connect, EXIT, intOption, parse, printHelp, writeLine } from "../common";

export const history: Command = {
  name: "history",
  summary: "stored events within retention, as NDJSON (read-only)",
  help: `Usage: dtbridge history [--after-seq N] [--limit N]

Prints stored events (acked or not) oldest first, one JSON line each, without leasing anything.

Options:
  --after-seq N      start after this seq (default 0)
  --limit N          at most N events (default: all)
${CONNECTION_HELP}`,
  async run(argv) {
    const { values } = parse(argv, { "after-seq": { type: "string" }, limit: { type: "string" } });
    if (values.help) return printHelp(this.help);
    const client = connect(values);
    let after = intOption(values["after-seq"], "after-seq", 0);
    let left = intOption(values.limit, "limit", Number.MAX_SAFE_INTEGER, 1);
    while (left > 0) {
      const page = await client.history(after, Math.min(500, left));
      for (const e of page.events) await writeLine(JSON.stringify(e));
      left -= page.events.length;
      if (page.events.length === 0) break;
      after = page.nextAfterSeq;
    }
    return EXIT.ok;
  },
};
