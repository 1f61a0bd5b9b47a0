import { CONNECTION_HELP, type Command, connect, EXIT, parse, printHelp, UsageError, writeLine } from "../common";

export const deadLetters: Command = {
  name: "dead-letters",
  summary: "list dead letters (NDJSON), redrive them into the queue, or purge them",
  help: `Usage: dtbridge dead-letters [list]
       dtbridge dead-letters redrive [--id ID ...] | --all
       dtbridge dead-letters purge --id ID ... | --all

list      prints every dead letter as one JSON line, with its attempts and last reason
redrive   puts the named events (or --all) back into the queue with fresh attempts
purge     deletes the named dead letters (or --all) for good: retention never deletes them

${CONNECTION_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { id: { type: "string", multiple: true }, all: { type: "boolean" } }, true);
    if (values.help) return printHelp(this.help);
    const action = positionals[0] ?? "list";
    const client = connect(values);
    if (action === "list") {
      let after = 0;
      for (;;) {
        const page = await client.deadLetters(after, 500);
        for (const e of page.events) await writeLine(JSON.stringify(e));
        if (page.events.length < 500) break;
        after = page.nextAfterSeq;
      }
      return EXIT.ok;
    }
    if (action === "redrive" || action === "purge") {
      // Either acts on the named ids or, said outright, on all of them: never on all by default.
      if (!values.all && !values.id?.length) throw new UsageError(`${action} needs --id ID (repeatable) or --all`);
      const ids = values.all ? undefined : values.id;
      const answer = action === "redrive" ? await client.redrive(ids) : await client.purge(ids);
      process.stderr.write(
        `${Object.entries(answer)
          .map(([k, v]) => `${k}: ${v}`)
          .join(", ")}\n`,
      );
      await writeLine(JSON.stringify(answer));
      return EXIT.ok;
    }
    throw new UsageError(`unknown dead-letters action "${action}": use list, redrive or purge`);
  },
};
