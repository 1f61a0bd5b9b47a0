// dtbridge forward end to end: a real bridge (wrangler dev) whose sends go to the fake DingTalk, and
// an HTTP-mode bot written from DingTalk's documentation (test/harness/http-bot.ts) that is
// restarted mid-run, fails once and hangs once. Nothing may be lost, every payload must arrive byte
// for byte and correctly signed, one conversation at a time and in order, and each inline answer
// must reach the conversation exactly once.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventKeys, openEvent, sealEvent } from "../../src/cli/forward/event-crypto";
import { robotSign } from "../../src/dingtalk/robot-sign";
import { sampleRobotMessage } from "../../src/dingtalk/sample-messages";
import { cliEnv, LOCAL, ndjson, runCli, startCli } from "../harness/cli";
import { type FakeDingTalk, startFakeDingTalk } from "../harness/fake-dingtalk/index.ts";
import { HttpBot } from "../harness/http-bot";
import { freePort, type LocalBridge, ROOT, startBridge } from "../harness/local-bridge";

const CLIENT_ID = "dinglocaldevclient";
const EVENTS = { token: "localtoken", aesKey: "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7", ownerKey: CLIENT_ID };
let dingtalk: FakeDingTalk;
let bridge: LocalBridge;
let bot: HttpBot;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dingtalk = await startFakeDingTalk({
    apps: [{ clientId: CLIENT_ID, clientSecret: LOCAL.secret }],
    pingIntervalMs: 0,
    redeliverAfterMs: 0,
  });
  const envFile = join(mkdtempSync(join(tmpdir(), "dtbridge-forward-")), "forward.env");
  writeFileSync(envFile, `${readFileSync(join(ROOT, "config/local.env"), "utf8")}\nDINGTALK_API_BASE=${dingtalk.url}\n`);
  bridge = await startBridge({ envFile });
  bot = new HttpBot({ secret: LOCAL.secret, port: await freePort(), thinkMs: 25, events: EVENTS });
  await bot.start();
  env = cliEnv(bridge.url, {
    DINGTALK_CLIENT_SECRET: LOCAL.secret,
    DINGTALK_EVENT_TOKEN: EVENTS.token,
    DINGTALK_EVENT_AES_KEY: EVENTS.aesKey,
    DINGTALK_CLIENT_ID: CLIENT_ID,
  });
});
afterAll(async () => {
  await bot?.stop();
  await bridge?.stop();
  await dingtalk?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
async function depth(): Promise<number> {
  return JSON.parse((await runCli(["status", "--json"], env)).stdout).depth;
}

/** Posts a robot callback as DingTalk would, with the body text given. */
async function callback(raw: string): Promise<void> {
  const timestamp = String(Date.now());
  const res = await fetch(`${bridge.url}/dingtalk/default/robot`, {
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8", timestamp, sign: await robotSign(LOCAL.secret, timestamp) },
    body: raw,
  });
  expect(res.status).toBe(200);
}

describe("dtbridge forward", () => {
  it("puts an HTTP-mode bot behind the bridge: restarted mid-run, nothing lost, each inline answer sent once", async () => {
    const sent: { msgId: string; conversationId: string; raw: string; session: string }[] = [];
    for (let i = 0; i < 24; i++) {
      const conversationId = `cidForward${i % 4}==`;
      const session = `fwd-${i}`;
      const message = sampleRobotMessage({ msgtype: "text", text: `m${i}`, conversationId }, i);
      message.sessionWebhook = dingtalk.sessionWebhookUrl(session);
      // Spacing, key order and a number's spelling that a parse and re-serialise would change.
      const raw = `${JSON.stringify(message, null, i % 2 ? 1 : 0).slice(0, -1)},"score":1.50}`;
      await callback(raw);
      sent.push({ msgId: message.msgId as string, conversationId, raw, session });
    }
    bot.failOnce.add(sent[3]!.msgId);

    const run = startCli(["forward", "--to", `${bot.url}/robot`, "--timeout", "1000", "--retry-delay", "100", "--consumer", "fwd"], env);
    await until("a third of the messages", () => bot.messages.length >= 8);
    await bot.stop();
    await sleep(800);
    await bot.start();
    // The last message is still far off; after the restart, so that the restart cannot cut the hang short.
    bot.hangOnce.add(sent.at(-1)!.msgId);
    await until("every message at the bot", () => new Set(bot.messages.map((m) => m.msgId)).size === sent.length);
    await until("the queue to empty", async () => (await depth()) === 0);
    await until("every reply", () => dingtalk.sessionSends.filter((s) => s.session.startsWith("fwd-")).length >= sent.length);
    process.kill(-run.child.pid!, "SIGINT");
    const res = await run.done;
    expect(res.code).toBe(0);

    expect(bot.refused).toEqual([]);
    for (const s of sent) {
      const got = bot.messages.filter((m) => m.msgId === s.msgId);
      expect(got.length).toBeGreaterThan(0);
      for (const m of got) expect(m.raw).toBe(s.raw);
      const replies = dingtalk.sessionSends.filter((r) => r.session === s.session);
      expect(replies.map((r) => r.body)).toEqual([{ msgtype: "text", text: { content: `echo:m${sent.indexOf(s)}` } }]);
    }
    // One conversation at a time, in the order DingTalk delivered it.
    expect(bot.maxInFlightPerConversation).toBe(1);
    for (const cid of new Set(sent.map((s) => s.conversationId))) {
      const order = [...new Set(bot.messages.filter((m) => m.conversationId === cid).map((m) => m.msgId))];
      expect(order).toEqual(sent.filter((s) => s.conversationId === cid).map((s) => s.msgId));
    }
    const lines = ndjson(res.stdout);
    expect(lines.some((l) => l.error === "the bot answered 500")).toBe(true);
    expect(lines.some((l) => l.error === "no answer within 1000 ms")).toBe(true);
    expect(lines.filter((l) => l.delivered && l.reply?.state === "sent")).toHaveLength(sent.length);
    expect(lines.find((l) => l.delivered)?.note).toBe("left out of the reply: at");
    expect(res.stderr).toContain("stopping after the posts in flight");
  });

  it("forwards event pushes encrypted and signed as DingTalk does, byte for byte inside", async () => {
    const eventText = '{"EventType":"user_add_org", "eventId":"evt-forward-1","CorpId":"dingcorp","UserId":["u1"],"n":1.0}';
    const sealed = await sealEvent((await eventKeys(EVENTS.aesKey, EVENTS.token, CLIENT_ID))!, eventText);
    const query = new URLSearchParams({ msg_signature: sealed.msg_signature, timestamp: sealed.timeStamp, nonce: sealed.nonce });
    const pushed = await fetch(`${bridge.url}/dingtalk/default/events?${query}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ encrypt: sealed.encrypt }),
    });
    expect(pushed.status).toBe(200);
    const res = await runCli(["forward", "--once", "--events-to", `${bot.url}/events`, "--consumer", "fwd-events"], env);
    expect(res.code).toBe(0);
    expect(bot.events).toEqual([eventText]);
    expect(ndjson(res.stdout)).toMatchObject([{ kind: "event", status: 200, delivered: true }]);
    expect(await depth()).toBe(0);
  });

  it("reads DingTalk's event encryption check values", async () => {
    const keys = (await eventKeys(EVENTS.aesKey, "mryue", "ding6ccabc44d2c8d38b"))!;
    const encrypt =
      "0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvmBKyDCYxxOK+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3";
    expect(await openEvent(keys, encrypt)).toBe('{"EventType":"check_url"}');
    expect(await eventKeys("too short", "mryue", "x")).toBeNull();
  });

  it("says what is missing, and never echoes a secret", async () => {
    const noSecret = await runCli(["forward", "--to", `${bot.url}/robot`], { ...env, DINGTALK_CLIENT_SECRET: "" });
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain("set DINGTALK_CLIENT_SECRET to the app's Client Secret");
    const badKey = await runCli(["forward", "--events-to", `${bot.url}/events`], { ...env, DINGTALK_EVENT_AES_KEY: "not-a-key-s3cr3t" });
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).not.toContain("s3cr3t");
    expect((await runCli(["forward"], env)).code).toBe(2);
    expect((await runCli(["forward", "--to", "ftp://x"], env)).code).toBe(2);
  });
});
