import { drain } from "../../client/drain";
import { CONNECTION_HELP, type Command, connect, EXIT, intOption, parse, printHelp, writeLine } from "../common";
import * as drainFlags from "../drain-flags";

export const tail: Command = {
  name: "tail",
  summary: "drain and ack, printing each event as one NDJSON line",
  help: `Usage: dtbridge tail [options]

Leases events oldest first and prints each as one JSON line on stdout, one at a time. An event is
acked only after its line is written and flushed; if stdout goes away first, the event is not acked
and comes back.

Options:
${drainFlags.HELP}
  --limit N          stop after N events
${CONNECTION_HELP}`,
  async run(argv) {
    const { values } = parse(argv, { ...drainFlags.options, limit: { type: "string" } });
    if (values.help) return printHelp(this.help);
    const client = connect(values);
    const limit = intOption(values.limit, "limit", Number.MAX_SAFE_INTEGER, 1);
    const stop = new AbortController();
    const settings = drainFlags.settings(values, stop);
    let printed = 0;
    const stats = await drain(
      client,
      async (event) => {
        await writeLine(JSON.stringify(event));
        printed += 1;
        if (printed >= limit) stop.abort();
      },
      {
        ...settings,
        concurrency: 1,
        max: Math.min(settings.max!, limit),
        onError: (error, context) => {
          if (context === "handler") stop.abort();
          process.stderr.write(`dtbridge tail: ${context}: ${(error as Error).message ?? error}\n`);
        },
      },
    );
    drainFlags.retriesLeftNote("tail", stats);
    if (stats.nacked > 0) return EXIT.failure;
    return values.once && printed === 0 ? EXIT.empty : EXIT.ok;
  },
};
