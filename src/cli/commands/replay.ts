import type { ReplayRequest } from "../../client/types";
import { CONNECTION_HELP, type Command, connect, EXIT, intOption, parse, printHelp, UsageError, writeLine } from "../common";

export const replay: Command = {
  name: "replay",
  summary: "hand delivered events out again: by id, or a seq range (of one conversation)",
  help: `Usage: dtbridge replay --ids ID[,ID...]
       dtbridge replay --from-seq N --to-seq M [--conversation CID]

Puts delivered events back in the queue as new deliveries: the same payload, a replayOf field naming
the original, a fresh attempt count; they are handed out in order like any other. After a gateway
bug, "run the last hour again for one conversation" is a seq range from \`dtbridge history
--conversation CID\`. The bridge replays at most 10,000 events per call. Prints its answer as one
JSON line, {"replayed": N, ...}.

Options:
  --ids IDS             event ids, comma-separated; repeatable
  --from-seq N          the range's first seq
  --to-seq M            the range's last seq
  --conversation CID    only this conversation's events in the range
${CONNECTION_HELP}`,
  async run(argv) {
    const { values } = parse(argv, {
      ids: { type: "string", multiple: true },
      "from-seq": { type: "string" },
      "to-seq": { type: "string" },
      conversation: { type: "string" },
    });
    if (values.help) return printHelp(this.help);
    const result = await connect(values).replay(replayRequest(values));
    await writeLine(JSON.stringify(result));
    return EXIT.ok;
  },
};

export function replayRequest(values: { ids?: string[]; "from-seq"?: string; "to-seq"?: string; conversation?: string }): ReplayRequest {
  const ids = (values.ids ?? [])
    .flatMap((v) => v.split(","))
    .map((id) => id.trim())
    .filter(Boolean);
  const ranged = values["from-seq"] !== undefined || values["to-seq"] !== undefined;
  if (ids.length > 0 === ranged) throw new UsageError("give either --ids or --from-seq and --to-seq");
  if (ids.length > 0) {
    if (values.conversation !== undefined) throw new UsageError("--conversation goes with a seq range, not with --ids");
    return { ids };
  }
  if (values["from-seq"] === undefined || values["to-seq"] === undefined)
    throw new UsageError("a range needs both --from-seq and --to-seq");
  const fromSeq = intOption(values["from-seq"], "from-seq", 0, 1);
  const toSeq = intOption(values["to-seq"], "to-seq", 0, 1);
  if (toSeq < fromSeq) throw new UsageError("--to-seq must not be below --from-seq");
  return { fromSeq, toSeq, ...(values.conversation !== undefined ? { conversationId: values.conversation } : {}) };
}
