import type { StatusDocument } from "../../client/types";
import { CONNECTION_HELP, type Command, connect, EXIT, parse, printHelp } from "../common";

export const status: Command = {
  name: "status",
  summary: "the app's mode, consumers, queue and incidents",
  help: `Usage: dtbridge status [--json]

Prints a readable summary on a terminal, or the raw JSON with --json or when stdout is not a terminal.
Exit ${EXIT.ok} when healthy, 1 when an incident is open.

Options:
  --json             print the status document as JSON
${CONNECTION_HELP}`,
  async run(argv) {
    const { values } = parse(argv, { json: { type: "boolean" } });
    if (values.help) return printHelp(this.help);
    const s = await connect(values).status();
    if (values.json || !process.stdout.isTTY) process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
    else process.stdout.write(render(s));
    return s.incidents?.length ? EXIT.failure : EXIT.ok;
  },
};

function ago(now: number, t: number | null | undefined): string {
  if (t === null || t === undefined) return "never";
  const s = Math.round((now - t) / 1000);
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}

function linkLine(now: number, link: StatusDocument | undefined): string {
  if (!link || link.state === "off") return "off (the gateway holds Stream, or DingTalk delivers over HTTP)";
  const parts = [`${link.state}`, `last frame ${ago(now, link.lastFrameAt)}`, `last message ${ago(now, link.lastMessageAt)}`];
  parts.push(`${link.opens?.length ?? 0} opens in the last hour`);
  if (link.lastError) parts.push(`last error: ${link.lastError}`);
  return parts.join(", ");
}

function render(s: StatusDocument): string {
  const now = s.now ?? Date.now();
  const rows: [string, string][] = [
    ["app", s.app],
    ["mode", `${s.mode} (poll hint ${s.pollHintMs} ms)`],
    ["consumers", `${s.consumers?.state}, last seen ${ago(now, s.consumers?.lastSeenAt)}`],
    ["routing", s.routing],
    ["stream link", linkLine(now, s.link)],
    ["queue", `${s.depth} not acked (${s.ready} ready, ${s.leased} leased), ${s.deadLetters} dead letters`],
    ["oldest ready", s.oldestReadyAgeMs === null ? "-" : `${Math.round(s.oldestReadyAgeMs / 1000)} s old`],
    ["last callback", ago(now, s.lastCallbackAt)],
    ["last Stream msg", ago(now, s.lastStreamMessageAt)],
    ["last pull", ago(now, s.lastPullAt)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  let out = `${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n")}\n`;
  out += `\nincidents: ${s.incidents?.length ? "" : "none"}\n`;
  for (const i of s.incidents ?? []) out += `  ! ${i.incident} since ${new Date(i.since).toISOString()}\n`;
  out += "\nrecent transitions:\n";
  for (const t of (s.transitions ?? []).slice(0, 10)) {
    out += `  ${new Date(t.at).toISOString()}  ${t.subject}: ${t.from} -> ${t.to}  (${t.reason})\n`;
  }
  for (const c of s.consumers?.list ?? []) out += `consumer ${c.id}: last seen ${ago(now, c.lastSeenAt)}\n`;
  return out;
}
