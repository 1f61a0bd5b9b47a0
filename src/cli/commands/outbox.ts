import type { SendState } from "../../client/types";
import { CONNECTION_HELP, type Command, connect, EXIT, intOption, parse, printHelp, UsageError, writeLine } from "../common";

const STATES: readonly SendState[] = ["queued", "sent", "refused", "failed", "cancelled"];

export const outbox: Command = {
  name: "outbox",
  summary: "list the sends (NDJSON), or cancel those still waiting for a retry",
  help: `Usage: dtbridge outbox [list] [--state STATE] [--limit N]
       dtbridge outbox cancel --key KEY ...

list      prints each send, newest first, as one JSON line: its key, state, attempts and last error
cancel    cancels the named sends while they wait for a retry: they are never sent, and a send that
          reuses the key answers 409 send_cancelled. Prints {"cancelled": [...], "notQueued": [...]};
          exits 1 when a key was not waiting (already sent, refused, failed or unknown)

Options:
  --state STATE     only sends in this state: ${STATES.join(", ")}
  --limit N         at most N sends (1-500, default 100)
  --key KEY         a send's idempotency key; repeatable
${CONNECTION_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      { state: { type: "string" }, limit: { type: "string" }, key: { type: "string", multiple: true } },
      true,
    );
    if (values.help) return printHelp(this.help);
    const action = positionals[0] ?? "list";
    if (action === "list") {
      const state = values.state as SendState | undefined;
      if (state !== undefined && !STATES.includes(state)) throw new UsageError(`--state must be one of ${STATES.join(", ")}`);
      const { sends } = await connect(values).outbox(state, intOption(values.limit, "limit", 100, 1, 500));
      for (const send of sends) await writeLine(JSON.stringify(send));
      return EXIT.ok;
    }
    if (action === "cancel") {
      if (!values.key?.length) throw new UsageError("cancel needs --key KEY (repeatable)");
      const answer = await connect(values).cancelSends(values.key);
      process.stderr.write(`${answer.cancelled.length} cancelled, ${answer.notQueued.length} not waiting\n`);
      await writeLine(JSON.stringify(answer));
      return answer.notQueued.length === 0 ? EXIT.ok : EXIT.failure;
    }
    throw new UsageError(`unknown outbox action "${action}": use list or cancel`);
  },
};
