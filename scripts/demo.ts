// npm run demo [-- --count N]: the whole path without a DingTalk account. A fake DingTalk holds a
// Stream gateway; a local bridge with STREAM_LINK=on connects to it; the fake sends a robot message
// every 1.5 s; `dtbridge tail` drains the bridge, as a gateway would, and each message is shown.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { sampleRobotMessage } from "../src/dingtalk/sample-messages";
import { startFakeDingTalk } from "../test/harness/fake-dingtalk/index.ts";
import { freePort, ROOT, startBridge, stopTree } from "../test/harness/local-bridge";

const HELP = `Usage: npm run demo [-- --count N] [--port P] [--every MS]

Starts a fake DingTalk and a local bridge (wrangler dev) with STREAM_LINK=on, sends robot messages
over the fake Stream connection, and shows them arriving through \`dtbridge tail\`.

  --count N     stop after N messages have arrived (default: run until Ctrl-C)
  --port P      the bridge's port (default 8787, or any free port while 8787 is taken)
  --every MS    one message every MS (default 1500)
  -h, --help    this text`;

const { values } = parseArgs({
  options: { count: { type: "string" }, port: { type: "string" }, every: { type: "string" }, help: { type: "boolean", short: "h" } },
});
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const count = values.count === undefined ? Infinity : Number(values.count);

/** Whether nothing listens on `port` yet (say, `npm run dev` in another terminal). */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
const every = Number(values.every ?? 1500);
const say = (line: string) => process.stderr.write(`demo: ${line}\n`);

const local = Object.fromEntries(
  readFileSync(join(ROOT, "config/local.env"), "utf8")
    .split("\n")
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
) as Record<string, string>;
const clientId = local.DINGTALK_CLIENT_ID!;
const token = local.BRIDGE_CONSUMER_TOKENS!.split(",")[0]!;

const dingtalk = await startFakeDingTalk({ apps: [{ clientId, clientSecret: local.DINGTALK_CLIENT_SECRET! }], pingIntervalMs: 20_000 });
say(`fake DingTalk on ${dingtalk.url}`);
const bridge = await startBridge({
  port: values.port ? Number(values.port) : (await isFree(8787)) ? 8787 : await freePort(),
  vars: { STREAM_LINK: "on", DINGTALK_API_BASE: dingtalk.url },
}).catch(async (error: Error) => {
  await dingtalk.close();
  say(`${error.message.split("\n")[0]} (is another bridge on that port? try --port ${await freePort()})`);
  process.exit(1);
});
say(`bridge on ${bridge.url} with STREAM_LINK=on; its link connects to the fake on the first request`);
say(`in another terminal: DTBRIDGE_URL=${bridge.url} DTBRIDGE_TOKEN=${token} npx dtbridge status`);

const tail = spawn(process.execPath, [join(ROOT, "dist/dtbridge.js"), "tail", "--consumer", "demo-gateway"], {
  env: { ...process.env, DTBRIDGE_URL: bridge.url, DTBRIDGE_TOKEN: token },
  stdio: ["ignore", "pipe", "inherit"],
  detached: true,
});
let arrived = 0;
const finished = new Promise<void>((resolve) => {
  createInterface({ input: tail.stdout! }).on("line", (line) => {
    const e = JSON.parse(line);
    const p = e.payload;
    const what = p.text?.content?.trim() ?? p.msgtype;
    process.stdout.write(
      `#${e.seq} ${e.source} -> inbox -> dtbridge tail: ${p.msgtype} "${what}" from ${p.senderNick} (${Date.now() - e.receivedAt} ms after commit)\n`,
    );
    if (++arrived >= count) resolve();
  });
});

let sent = 0;
const sender = setInterval(() => {
  const live = dingtalk.connections(clientId).some((c) => c.state === "open");
  if (!live || sent >= count) return;
  dingtalk.sendRobotMessage(sampleRobotMessage({ text: `hello from the demo #${sent + 1}` }, sent++), { clientId });
}, every);

const stop = async () => {
  clearInterval(sender);
  await stopTree(tail, "SIGTERM");
  await bridge.stop();
  await dingtalk.close();
  say(`${sent} sent over Stream, ${arrived} arrived through the bridge`);
  process.exit(arrived >= Math.min(sent, count) ? 0 : 1);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
await finished;
await stop();
