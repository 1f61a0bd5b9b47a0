// A newcomer's first run: wrangler dev with the shipped local config, a signed callback over real HTTP.
// `npm run test:e2e:serve` runs it against dtbridge serve too (BRIDGE_RUNTIME=serve).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { robotSign } from "../../src/dingtalk/robot-sign";
import { sampleRobotMessage } from "../../src/dingtalk/sample-messages";
import { defaultRuntime, type LocalBridge, startBridge } from "../harness/local-bridge";

const SECRET = "local-dev-client-secret";
const TOKEN = "local-dev-consumer-token";

let bridge: LocalBridge;
beforeAll(async () => {
  bridge = await startBridge();
});
afterAll(async () => {
  await bridge?.stop();
});

async function postSigned(body: unknown, secret = SECRET) {
  const timestamp = String(Date.now());
  return fetch(`${bridge.url}/dingtalk/default/robot`, {
    method: "POST",
    headers: { "content-type": "application/json", timestamp, sign: await robotSign(secret, timestamp) },
    body: JSON.stringify(body),
  });
}

describe(`${defaultRuntime() === "serve" ? "dtbridge serve" : "wrangler dev"} with the shipped local config`, () => {
  it("commits signed callbacks and refuses forged ones", async () => {
    const messages = Array.from({ length: 20 }, (_, i) => sampleRobotMessage({}, i));
    for (const m of messages) {
      const res = await postSigned(m);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ msgtype: "empty" });
    }
    expect((await postSigned(messages[0])).status).toBe(200);
    expect((await postSigned(sampleRobotMessage(), "forged")).status).toBe(401);

    const res = await fetch(`${bridge.url}/v1/default/events?limit=100`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const { events } = (await res.json()) as { events: { payload: unknown }[] };
    expect(events.map((e) => e.payload)).toEqual(messages);

    const status = (await (
      await fetch(`${bridge.url}/v1/default/status`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as any;
    expect(status).toMatchObject({ app: "default", mode: "webhook", depth: 20, leased: 0, deadLetters: 0 });
    expect(status.counters.duplicates).toBe(1);
  });
});
