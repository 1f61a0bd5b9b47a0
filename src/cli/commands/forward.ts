import type { BridgeClient } from "../../client/bridge-client";
import { drain } from "../../client/drain";
import { BridgeError } from "../../client/errors";
import { payloadText } from "../../client/payload-text";
import { linkedSignal, retryDelayMs } from "../../client/timing";
import type { BridgeEvent } from "../../client/types";
import { CONNECTION_HELP, type Command, connect, EXIT, intOption, parse, printHelp, UsageError } from "../common";
import * as drainFlags from "../drain-flags";
import { type EventKeys, eventKeys as keysFor } from "../forward/event-crypto";
import { answeredSuccess, postEvent } from "../forward/event-post";
import { ForwardLog, type ForwardRecord } from "../forward/forward-log";
import { readInlineAnswer } from "../forward/inline-answer";
import { type BotAnswer, postRobotMessage } from "../forward/robot-post";

export const forward: Command = {
  name: "forward",
  summary: "post each message to an HTTP-mode bot as DingTalk would; ack on 2xx, send its inline reply",
  help: `Usage: dtbridge forward --to URL [options]

Drains the app's inbox and POSTs each robot message to URL exactly as DingTalk does in HTTP mode: the
stored payload byte for byte, with fresh timestamp and sign headers made with the app's Client Secret,
so an unchanged HTTP-mode bot verifies it. A 2xx answer acks the message, and an inline reply in it
(such as {"msgtype":"text","text":{"content":"hi"}}; {"msgtype":"empty"} or an empty body is none) is
sent through the bridge as a reply to that message, once, however often the message is forwarded.
Any other status, no answer, or none within --timeout nacks the message with backoff.
One conversation's messages go one at a time, in order; up to --concurrency conversations at once.
With --events-to, event pushes go to that URL encrypted and signed with the app's event token and AES
key, as DingTalk sends them, and the handler must answer the encrypted "success"; without it they are
nacked (and end as dead letters an operator can redrive).
Secrets are read from the environment only and never sent to the bridge.
On a terminal a line per message goes to stderr; piped, stdout gets one NDJSON line per message.
The first SIGINT/SIGTERM finishes the posts in flight and stops; a second one cuts them off (nacked).

Options:
  --to URL               the bot's HTTP-mode message URL
  --secret-env NAME      variable holding the app's Client Secret (default DINGTALK_CLIENT_SECRET)
  --events-to URL        the event subscription URL, for event pushes
  --event-token-env NAME variable holding the event token (default DINGTALK_EVENT_TOKEN)
  --event-key-env NAME   variable holding the event AES key (default DINGTALK_EVENT_AES_KEY)
  --owner-key KEY        the events' owner key [DINGTALK_EVENT_OWNER_KEY, else DINGTALK_CLIENT_ID]
  --timeout MS           how long the bot may take to answer (default 30000)
  --concurrency N        conversations at once (1-100, default 4)
  --retry-delay MS       first retry delay, doubled per attempt (default 1000)
${drainFlags.HELP}
${CONNECTION_HELP}`,
  async run(argv) {
    const { values } = parse(argv, {
      ...drainFlags.options,
      to: { type: "string" },
      "secret-env": { type: "string" },
      "events-to": { type: "string" },
      "event-token-env": { type: "string" },
      "event-key-env": { type: "string" },
      "owner-key": { type: "string" },
      timeout: { type: "string" },
      concurrency: { type: "string" },
      "retry-delay": { type: "string" },
    });
    if (values.help) return printHelp(this.help);
    if (!values.to && !values["events-to"]) throw new UsageError("forward needs --to URL (and/or --events-to URL)");
    const robot = values.to
      ? {
          url: httpUrl(values.to, "to"),
          secret: fromEnv(values["secret-env"] ?? "DINGTALK_CLIENT_SECRET", "the app's Client Secret", "secret-env"),
        }
      : null;
    const events = values["events-to"] ? { url: httpUrl(values["events-to"], "events-to"), keys: await eventKeys(values) } : null;
    const client = connect(values);
    const timeoutMs = intOption(values.timeout, "timeout", 30_000, 1);
    const retryBase = intOption(values["retry-delay"], "retry-delay", 1_000, 0);
    const concurrency = intOption(values.concurrency, "concurrency", 4, 1, 100);
    const log = new ForwardLog(!process.stdout.isTTY);

    // The first signal stops the drain (common.ts); the second cuts off the posts in flight.
    const cutOff = new AbortController();
    let signals = 0;
    const onSignal = () => {
      if (++signals < 2) return process.stderr.write("dtbridge forward: stopping after the posts in flight (again to cut them off)\n");
      cutOff.abort();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);

    const post = async (event: BridgeEvent, text: string, signal: AbortSignal): Promise<BotAnswer | string> => {
      if (event.kind === "robot") {
        if (!robot) return "no --to for robot messages";
        return postRobotMessage(robot.url, text, robot.secret, signal);
      }
      if (!events) return "no --events-to for event pushes";
      return postEvent(events.url, text, events.keys, signal);
    };
    const stats = await drain(client, (event) => forwardOne(client, event, post, timeoutMs, cutOff.signal, log, events?.keys), {
      ...drainFlags.settings(values, new AbortController()),
      concurrency,
      retryDelayMs: (attempt) => retryDelayMs(attempt, retryBase),
      onError: (error, context) => {
        // Handler failures are in the log already.
        if (context !== "handler") process.stderr.write(`dtbridge forward: ${context}: ${(error as Error).message ?? error}\n`);
      },
    });
    process.stderr.write(`dtbridge forward: ${log.summary()}\n`);
    drainFlags.retriesLeftNote("forward", stats);
    return values.once && stats.acked + stats.nacked === 0 ? EXIT.empty : EXIT.ok;
  },
};

/** Posts one message and reads the answer; throws (so the message is nacked) unless it was delivered. */
async function forwardOne(
  client: BridgeClient,
  event: BridgeEvent,
  post: (event: BridgeEvent, text: string, signal: AbortSignal) => Promise<BotAnswer | string>,
  timeoutMs: number,
  cutOff: AbortSignal,
  log: ForwardLog,
  keys: EventKeys | undefined,
): Promise<void> {
  const started = performance.now();
  const record: ForwardRecord = {
    at: Date.now(),
    id: event.id,
    seq: event.seq,
    kind: event.kind,
    attempt: event.attempt,
    orderingKey: event.orderingKey,
    ms: 0,
    delivered: false,
  };
  try {
    const text = payloadText(event) ?? JSON.stringify(event.payload);
    const linked = linkedSignal([cutOff], timeoutMs);
    const answer = await post(event, text, linked.signal).finally(() => linked.release());
    if (typeof answer === "string") throw new Error(answer);
    record.status = answer.status;
    if (answer.status < 200 || answer.status > 299) throw new Error(`the bot answered ${answer.status}`);
    if (event.kind === "event") {
      if (!keys || !(await answeredSuccess(answer.body, keys))) throw new Error('the handler did not answer the encrypted "success"');
    } else {
      await sendInlineReply(client, event, answer.body, record);
    }
    record.delivered = true;
  } catch (error) {
    record.error = error instanceof Error ? error.message : String(error);
    throw error;
  } finally {
    record.ms = performance.now() - started;
    await log.record(record);
  }
}

/** The bot's inline answer goes out as a reply; a reply the bridge refuses is noted, not retried. */
async function sendInlineReply(client: BridgeClient, event: BridgeEvent, body: string, record: ForwardRecord): Promise<void> {
  const answer = readInlineAnswer(body);
  if (answer.kind === "none") return;
  if (answer.kind === "unsendable") {
    record.note = `inline answer not sent: ${answer.why}`;
    return;
  }
  if (answer.dropped.length) record.note = `left out of the reply: ${answer.dropped.join(", ")}`;
  try {
    record.reply = await client.reply(event, answer.message);
  } catch (error) {
    // Sending again cannot help a refused reply; the bridge being away can: forward again later.
    if (!(error instanceof BridgeError) || error.retryable) throw error;
    record.note = `inline reply refused: ${error.message}`;
  }
}

function httpUrl(value: string, flag: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--${flag} "${value.slice(0, 100)}" is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`--${flag} must be http:// or https://`);
  return value;
}

/** A secret from the environment, never from a flag (flags show in process lists and shell history). */
function fromEnv(name: string, what: string, flag: string): string {
  const value = process.env[name];
  if (!value) throw new UsageError(`set ${name} to ${what}, or name the variable that holds it with --${flag}`);
  return value;
}

async function eventKeys(values: { "event-token-env"?: string; "event-key-env"?: string; "owner-key"?: string }): Promise<EventKeys> {
  const token = fromEnv(values["event-token-env"] ?? "DINGTALK_EVENT_TOKEN", "the app's event token", "event-token-env");
  const keyName = values["event-key-env"] ?? "DINGTALK_EVENT_AES_KEY";
  const aesKey = fromEnv(keyName, "the app's event AES key", "event-key-env");
  const ownerKey = values["owner-key"] ?? process.env.DINGTALK_EVENT_OWNER_KEY ?? process.env.DINGTALK_CLIENT_ID;
  if (!ownerKey)
    throw new UsageError("events need their owner key: pass --owner-key or set DINGTALK_EVENT_OWNER_KEY or DINGTALK_CLIENT_ID");
  const keys = await keysFor(aesKey, token, ownerKey);
  if (!keys) throw new UsageError(`${keyName} is not an event AES key (43 characters of base64)`);
  return keys;
}
