// dtbridge: the bridge's command line. Every command has --help; exit codes are in common.ts.

import { backup } from "./commands/backup";
import { deadLetters } from "./commands/dead-letters";
import { doctor } from "./commands/doctor";
import { drainCommand } from "./commands/drain";
import { forward } from "./commands/forward";
import { history } from "./commands/history";
import { outbox } from "./commands/outbox";
import { replay } from "./commands/replay";
import { restore } from "./commands/restore";
import { send } from "./commands/send";
import { serve } from "./commands/serve";
import { simulate } from "./commands/simulate";
import { status } from "./commands/status";
import { tail } from "./commands/tail";
import { type Command, EXIT, exitCodeFor } from "./common";

/** Set by the build from package.json. */
declare const DTBRIDGE_VERSION: string;

const COMMANDS: Command[] = [
  tail,
  drainCommand,
  forward,
  send,
  status,
  history,
  replay,
  deadLetters,
  outbox,
  doctor,
  simulate,
  serve,
  backup,
  restore,
];

const USAGE = `Usage: dtbridge <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(14)} ${c.summary}`).join("\n")}

Environment: DTBRIDGE_URL, DTBRIDGE_APP (default "default"), DTBRIDGE_TOKEN, DTBRIDGE_CONSUMER;
each has a flag (--url, --app, --token, --consumer). Run "dtbridge <command> --help" for more.

Options: --version, --help (also after every command).

Exit codes: 0 ok, 1 failure, 2 usage, 3 auth refused (401), 4 not found (404),
5 bridge unreachable, 6 nothing to do (--once on an empty queue).`;

async function main(argv: string[]): Promise<number> {
  // A closed pipe (dtbridge tail | head) ends output quietly; unacked events simply come back.
  process.stdout.on("error", () => {});
  const [name, ...rest] = argv;
  if (name === "--version" || name === "-V" || name === "version") {
    process.stdout.write(`dtbridge ${DTBRIDGE_VERSION}\n`);
    return EXIT.ok;
  }
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${USAGE}\n`);
    return name ? EXIT.ok : EXIT.usage;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`dtbridge: unknown command "${name}"\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    return exitCodeFor(error);
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
