import { drain } from "../../client/drain";
import { type Command, CONNECTION_HELP, connect, EXIT, intOption, parse, stopSignal, writeLine } from "../common";

export const tail: Command = {
  name: "tail",
  summary: "drain and ack, printing each event as one NDJSON line",
  help: `Usage: dtbridge tail [options]

Leases events oldest first and prints each as one JSON line on stdout. An event is acked only after
its line is written and flushed; if stdout goes away first, the event is not acked and comes back.

Options:
  --max N            events per pull (1-100, default 10)
  --wait MS          long-poll wait per pull (0-25000, default 20000)
  --lease MS         lease length (default: the bridge's LEASE_MS)
  --once             stop when the queue is empty instead of waiting for more (exit ${EXIT.empty} if nothing came)
  --limit N          stop after N events
${CONNECTION_HELP}`,
  async run(argv) {
    const { values } = parse(argv, {
      max: { type: "string" },
      wait: { type: "string" },
      lease: { type: "string" },
      once: { type: "boolean" },
      limit: { type: "string" },
    });
    if (values.help) return (process.stdout.write(`${this.help}\n`), EXIT.ok);
    const client = connect(values);
    const limit = intOption(values.limit, "limit", Number.MAX_SAFE_INTEGER, 1);
    const max = intOption(values.max, "max", 10, 1, 100);
    const waitMs = values.once ? 0 : intOption(values.wait, "wait", 20_000, 0, 25_000);
    const leaseMs = values.lease === undefined ? undefined : intOption(values.lease, "lease", 60_000, 1_000);
    const stop = new AbortController();
    const signal = AbortSignal.any([stopSignal(), stop.signal]);
    let printed = 0;
    const stats = await drain(
      client,
      async (event) => {
        await writeLine(JSON.stringify(event));
        printed += 1;
        if (printed >= limit) stop.abort();
      },
      {
        signal,
        max: Math.min(max, limit),
        waitMs,
        leaseMs,
        onError: (error, context) => {
          if (context === "handler") stop.abort();
          process.stderr.write(`dtbridge tail: ${context}: ${(error as Error).message ?? error}\n`);
        },
        onPull: (count) => {
          if (values.once && count === 0) stop.abort();
        },
      },
    );
    if (stats.nacked > 0) return EXIT.failure;
    return values.once && printed === 0 ? EXIT.empty : EXIT.ok;
  },
};
