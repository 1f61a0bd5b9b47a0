import { type ChildProcess, spawn } from "node:child_process";
import { drain } from "../../client/drain";
import { payloadText } from "../../client/payload-text";
import { retryDelayMs } from "../../client/timing";
import type { BridgeEvent } from "../../client/types";
import { CONNECTION_HELP, type Command, connect, EXIT, intOption, parse, printHelp, UsageError } from "../common";
import * as drainFlags from "../drain-flags";

export const drainCommand: Command = {
  name: "drain",
  summary: "hand each payload to a command on stdin; ack on exit 0, nack otherwise",
  help: `Usage: dtbridge drain --exec CMD [options]

For each event, oldest first, runs CMD with /bin/sh and writes the event's payload (the JSON DingTalk
sent, byte for byte) to its standard input. Exit 0 acks the event; any other exit, or a timeout, nacks
it with backoff, until MAX_ATTEMPTS sends it to the dead letters. The command also gets
DTBRIDGE_EVENT_ID, DTBRIDGE_EVENT_KIND, DTBRIDGE_EVENT_SEQ, DTBRIDGE_EVENT_ATTEMPT and
DTBRIDGE_ORDERING_KEY (empty for none) in its environment.
One conversation's events run one after another, in order; with --concurrency N, up to N commands
run at once, each for a different conversation. After a failure, the conversation's later events wait
for its retry.
Progress goes to stderr. The command ignores SIGINT, so a Ctrl-C in the terminal does not stop it: the
first SIGINT/SIGTERM lets the running commands finish (and acks or nacks them), returns the rest and
exits 0; a second one stops the running commands too (SIGTERM; they are nacked).

Options:
  --exec CMD         the command (required)
  --timeout MS       kill the command after MS (default 300000)
  --concurrency N    commands at once, each for a different conversation (1-100, default 1)
${drainFlags.HELP}
  --retry-delay MS   first retry delay, doubled per attempt (default 1000)
${CONNECTION_HELP}`,
  async run(argv) {
    const { values } = parse(argv, {
      ...drainFlags.options,
      exec: { type: "string" },
      timeout: { type: "string" },
      concurrency: { type: "string" },
      "retry-delay": { type: "string" },
    });
    if (values.help) return printHelp(this.help);
    if (!values.exec) throw new UsageError("drain needs --exec CMD");
    const client = connect(values);
    const timeoutMs = intOption(values.timeout, "timeout", 300_000, 1);
    const retryBase = intOption(values["retry-delay"], "retry-delay", 1_000, 0);
    const concurrency = intOption(values.concurrency, "concurrency", 1, 1, 100);
    const running = new Set<ChildProcess>();
    let signals = 0;
    const onSignal = () => {
      if (++signals < 2) return process.stderr.write("dtbridge drain: stopping after the running command (again to stop it now)\n");
      for (const child of running) child.kill("SIGTERM");
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    const stats = await drain(client, (event) => runCommand(values.exec!, event, timeoutMs, running), {
      ...drainFlags.settings(values, new AbortController()),
      concurrency,
      retryDelayMs: (attempt) => retryDelayMs(attempt, retryBase),
      onError: (error, context) => process.stderr.write(`dtbridge drain: ${context}: ${(error as Error).message ?? error}\n`),
    });
    process.stderr.write(`dtbridge drain: ${stats.acked} acked, ${stats.nacked} nacked\n`);
    drainFlags.retriesLeftNote("drain", stats);
    return values.once && stats.acked + stats.nacked === 0 ? EXIT.empty : EXIT.ok;
  },
};

function runCommand(command: string, event: BridgeEvent, timeoutMs: number, running: Set<ChildProcess>): Promise<void> {
  return new Promise((resolve, reject) => {
    // SIGINT ignored, and so inherited ignored: a terminal's Ctrl-C reaches the whole process group,
    // and dtbridge, not the command, decides when it stops. A SIGKILL of the group still ends both.
    const child = spawn("/bin/sh", ["-c", `trap '' INT\n${command}`], {
      stdio: ["pipe", "inherit", "inherit"],
      env: {
        ...process.env,
        DTBRIDGE_EVENT_ID: event.id,
        DTBRIDGE_EVENT_KIND: event.kind,
        DTBRIDGE_EVENT_SEQ: String(event.seq),
        DTBRIDGE_EVENT_ATTEMPT: String(event.attempt),
        DTBRIDGE_ORDERING_KEY: event.orderingKey ?? "",
      },
    });
    running.add(child);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      running.delete(child);
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(signal ? `command killed by ${signal}` : `command exited ${code}`));
    });
    // A command that ignores its input closes stdin early; that is its business, not a failure.
    child.stdin.on("error", () => {});
    child.stdin.end(payloadText(event) ?? JSON.stringify(event.payload));
  });
}
