import type { OutMessage, SendRequest } from "../../client/types";
import { CONNECTION_HELP, type Command, connect, EXIT, parse, printHelp, UsageError, writeLine } from "../common";

export const send: Command = {
  name: "send",
  summary: "send a reply or a message as the robot, through the bridge",
  help: `Usage: dtbridge send (--reply-to EVENT_ID | --to-conversation CID | --to-user ID ...) (--text TEXT | --markdown TEXT --title TITLE) [--key KEY]

Sends through the bridge: a reply goes by the message's session webhook while it has more than five
minutes left, else by the robot API; --to-* sends go by the robot API. Prints the answer as one JSON
line: {"state": "sent", "via", "key"}, or {"state": "queued", "key", "retryAt"} when DingTalk cannot
be reached now (the bridge retries for 24 h; see \`dtbridge send --fate KEY\`).
The same --key never sends twice; a reply without --key gets one from the event and the message.

Options:
  --reply-to ID          the event id (from tail or history) to reply to
  --to-conversation CID  a group's openConversationId
  --to-user ID           a user's staffId; repeatable, up to 20
  --text TEXT            a text message
  --markdown TEXT        a markdown message, with --title
  --title TITLE          the markdown message's title
  --key KEY              idempotency key, up to 128 printable characters
  --fate KEY             print what became of an earlier send instead
Exit 1 when DingTalk refuses the message (its code and message go to stderr).
${CONNECTION_HELP}`,
  async run(argv) {
    const { values } = parse(argv, {
      "reply-to": { type: "string" },
      "to-conversation": { type: "string" },
      "to-user": { type: "string", multiple: true },
      text: { type: "string" },
      markdown: { type: "string" },
      title: { type: "string" },
      key: { type: "string" },
      fate: { type: "string" },
    });
    if (values.help) return printHelp(this.help);
    const client = connect(values);
    if (values.fate) {
      await writeLine(JSON.stringify(await client.sendFate(values.fate)));
      return EXIT.ok;
    }
    const targets = [values["reply-to"], values["to-conversation"], values["to-user"]?.length ? "users" : undefined].filter(Boolean);
    if (targets.length !== 1) throw new UsageError("give exactly one of --reply-to, --to-conversation and --to-user");
    const message = messageFrom(values);
    const result = values["reply-to"]
      ? await client.reply({ id: values["reply-to"] }, message, values.key)
      : await client.send({
          to: values["to-conversation"] ? { openConversationId: values["to-conversation"] } : { userIds: values["to-user"]! },
          message,
          ...(values.key ? { key: values.key } : {}),
        } satisfies SendRequest);
    if (result.state === "queued")
      process.stderr.write(`dtbridge send: DingTalk cannot be reached now; the bridge retries (key ${result.key})\n`);
    await writeLine(JSON.stringify(result));
    return EXIT.ok;
  },
};

function messageFrom(values: { text?: string; markdown?: string; title?: string }): OutMessage {
  if ((values.text === undefined) === (values.markdown === undefined)) throw new UsageError("give exactly one of --text and --markdown");
  if (values.text !== undefined) return { msgtype: "text", text: { content: values.text } };
  if (!values.title) throw new UsageError("--markdown needs --title");
  return { msgtype: "markdown", markdown: { title: values.title, text: values.markdown! } };
}
