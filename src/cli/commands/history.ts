import type { HistoryQuery } from "../../client/types";
import { CONNECTION_HELP, type Command, connect, EXIT, intOption, parse, printHelp, writeLine } from "../common";

export const history: Command = {
  name: "history",
  summary: "stored events within retention, as NDJSON (read-only), by conversation, message or sender",
  help: `Usage: dtbridge history [--after-seq N] [--limit N] [--conversation CID] [--msg-id ID] [--sender ID]

Prints stored events (acked or not) oldest first, one JSON line each, without leasing anything.

Options:
  --after-seq N       start after this seq (default 0)
  --limit N           at most N events (default: all)
  --conversation CID  only this conversation's events
  --msg-id ID         only the event of this DingTalk msgId
  --sender ID         only this sender's events (senderStaffId or senderId)
${CONNECTION_HELP}`,
  async run(argv) {
    const { values } = parse(argv, {
      "after-seq": { type: "string" },
      limit: { type: "string" },
      conversation: { type: "string" },
      "msg-id": { type: "string" },
      sender: { type: "string" },
    });
    if (values.help) return printHelp(this.help);
    const client = connect(values);
    const query: HistoryQuery = {
      ...(values.conversation !== undefined ? { conversationId: values.conversation } : {}),
      ...(values["msg-id"] !== undefined ? { msgId: values["msg-id"] } : {}),
      ...(values.sender !== undefined ? { sender: values.sender } : {}),
    };
    let after = intOption(values["after-seq"], "after-seq", 0);
    let left = intOption(values.limit, "limit", Number.MAX_SAFE_INTEGER, 1);
    while (left > 0) {
      const page = await client.history(after, Math.min(500, left), query);
      for (const e of page.events) await writeLine(JSON.stringify(e));
      left -= page.events.length;
      if (page.events.length === 0) break;
      after = page.nextAfterSeq;
    }
    return EXIT.ok;
  },
};
