// npm run bench:sign-reuse [-- --seconds N --senders N]: the 0.2 review's case again. DingTalk signs
// a callback with the millisecond it sends it, so busy senders share (timestamp, sign) pairs: 16
// senders post robot messages as fast as they are answered, each signed with the current millisecond,
// and the run counts how many were refused (0.2 refused 18.5% at 206/s) or kept aside as sign_reused.
import { parseArgs } from "node:util";
import { robotSign } from "../src/dingtalk/robot-sign";
import { sampleRobotMessage } from "../src/dingtalk/sample-messages";
import { startBridge } from "../test/harness/local-bridge";
import { post } from "./callbacks";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "10" }, senders: { type: "string", default: "16" } } });
const SECRET = "local-dev-client-secret";
const TOKEN = "local-dev-consumer-token";
const ms = Number(values.seconds) * 1000;

const bridge = await startBridge();
try {
  const signs = new Map<string, Promise<string>>();
  const signFor = (timestamp: string) => signs.get(timestamp) ?? signs.set(timestamp, robotSign(SECRET, timestamp)).get(timestamp)!;
  const statuses = new Map<number, number>();
  const shared = new Map<string, number>();
  const end = Date.now() + ms;
  let n = 0;
  await Promise.all(
    Array.from({ length: Number(values.senders) }, async () => {
      while (Date.now() < end) {
        const timestamp = String(Date.now());
        shared.set(timestamp, (shared.get(timestamp) ?? 0) + 1);
        const body = JSON.stringify(sampleRobotMessage({ conversationId: `c${n % 50}` }, n++));
        const status = await post(
          `${bridge.url}/dingtalk/default/robot`,
          { "content-type": "application/json", timestamp, sign: await signFor(timestamp) },
          body,
        );
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  const status = (await (await fetch(`${bridge.url}/v1/default/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
    counters: { callbacksAccepted: number; signReused: number; signReuseRefused: number };
  };
  const sharing = [...shared.values()].filter((c) => c > 1).reduce((a, c) => a + c, 0);
  const refused = n - (statuses.get(200) ?? 0);
  const figures = {
    callbacks: n,
    perSecond: Math.round(n / (ms / 1000)),
    sharingTheirPair: sharing,
    sharingPercent: +((sharing / n) * 100).toFixed(1),
    answered: Object.fromEntries(statuses),
    refusedPercent: +((refused / n) * 100).toFixed(2),
    accepted: status.counters.callbacksAccepted,
    keptAsideSignReused: status.counters.signReused,
    refusedSignReuse: status.counters.signReuseRefused,
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
} finally {
  await bridge.stop();
}
