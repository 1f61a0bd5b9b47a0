// The Stream link end to end: wrangler dev with STREAM_LINK=on against the fake DingTalk, a gateway
// that only drains (dtbridge tail), and the changeovers DingTalk puts a connection through.
// `npm run test:e2e:serve` runs it against dtbridge serve too (BRIDGE_RUNTIME=serve).

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sampleRobotMessage } from "../../src/dingtalk/sample-messages";
import { cliEnv, LOCAL, ndjson, runCli, startCli } from "../harness/cli";
import type { FakeDingTalk } from "../harness/fake-dingtalk/index.ts";
import { startFakeDingTalk } from "../harness/fake-dingtalk/index.ts";
import { defaultRuntime, type LocalBridge, ROOT, startBridge } from "../harness/local-bridge";

const CLIENT_ID = "dinglocaldevclient";
// One app per disruption: each link has its own budget of 3 opens in 10 minutes.
const APPS = ["disc", "drop", "restart"];
const clientIdOf = (app: string) => (app === "default" ? CLIENT_ID : `ding-${app}`);
let dingtalk: FakeDingTalk;
let bridge: LocalBridge;
let envFile: string;

beforeAll(async () => {
  dingtalk = await startFakeDingTalk({
    apps: ["default", ...APPS].map((a) => ({ clientId: clientIdOf(a), clientSecret: LOCAL.secret })),
    pingIntervalMs: 1_000,
    redeliverAfterMs: 2_000,
    disconnectGraceMs: 1_000,
  });
  const apps = Object.fromEntries(
    APPS.map((a) => [a, { clientId: clientIdOf(a), clientSecret: LOCAL.secret, consumerTokens: [LOCAL.token] }]),
  );
  envFile = join(mkdtempSync(join(tmpdir(), "dtbridge-link-")), "link.env");
  writeFileSync(
    envFile,
    `${readFileSync(join(ROOT, "config/local.env"), "utf8")}\nSTREAM_LINK=on\nDINGTALK_API_BASE=${dingtalk.url}\nBRIDGE_APPS=${JSON.stringify(apps)}\n`,
  );
  bridge = await startBridge({ envFile });
});
afterAll(async () => {
  await bridge?.stop();
  await dingtalk?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const live = (app = "default") => dingtalk.connections(clientIdOf(app)).filter((c) => c.state !== "closed");
const ticketOpens = () => dingtalk.opens.filter((o) => o.kind === "ticket").length;
const sendTo = (app: string, i: number) => dingtalk.sendRobotMessage(sampleRobotMessage({}, i), { clientId: clientIdOf(app) }).msgId;

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function drainAll(expected: number, app = "default") {
  const got: any[] = [];
  for (let i = 0; i < 30 && got.length < expected; i++) {
    const res = await runCli(["tail", "--once", "--consumer", "e2e-gw"], cliEnv(bridge.url, { DTBRIDGE_APP: app }));
    got.push(...ndjson(res.stdout));
    if (got.length < expected) await sleep(300);
  }
  return got;
}

describe("with STREAM_LINK=on", () => {
  it("the first request starts the link, and messages over Stream reach a draining gateway", async () => {
    const status = await runCli(["status", "--json"], cliEnv(bridge.url));
    expect([0, 1]).toContain(status.code);
    await until("the link's connection", () => live().length === 1);
    const sent = Array.from({ length: 10 }, (_, i) => sampleRobotMessage({}, i));
    for (const m of sent) dingtalk.sendRobotMessage(m, { clientId: CLIENT_ID });
    const events = await drainAll(10);
    expect(events.map((e) => e.payload.msgId).sort()).toEqual(sent.map((m) => m.msgId as string).sort());
    expect(events.every((e) => e.source === "stream")).toBe(true);
    expect(dingtalk.unackedMsgIds()).toEqual([]);
    expect(dingtalk.violations).toEqual([]);
    const s = JSON.parse((await runCli(["status", "--json"], cliEnv(bridge.url))).stdout);
    expect(s.link).toMatchObject({ state: "open", lastError: null });
    expect(s).toMatchObject({ mode: "stream", pollHintMs: 0 });
  });

  it("loses nothing through a disconnect changeover, an abrupt drop and a runtime kill", async () => {
    const sent: Record<string, string[]> = { disc: [], drop: [], restart: [] };
    const send = (app: string, n: number) => {
      for (let i = 0; i < n; i++) sent[app]!.push(sendTo(app, i));
    };
    for (const app of APPS) await runCli(["status", "--json"], cliEnv(bridge.url, { DTBRIDGE_APP: app }));
    await until("every app's link", () => APPS.every((a) => live(a).length === 1));

    send("disc", 5);
    dingtalk.sendDisconnect(live("disc")[0]!.id);
    send("disc", 5);
    await until("the changeover", () => live("disc").length === 1 && live("disc")[0]!.state === "open");

    send("drop", 5);
    dingtalk.drop(live("drop")[0]!.id);
    send("drop", 5);
    await until("reconnected after the drop", () => live("drop").length === 1);

    send("restart", 5);
    await bridge.stop("SIGKILL");
    send("restart", 5); // unacked while the runtime is down: DingTalk delivers again once the link is back
    bridge = await startBridge({ envFile, persistDir: bridge.persistDir, port: bridge.port });
    for (const app of APPS) {
      const events = await drainAll(sent[app]!.length, app);
      const got = new Set(events.map((e) => e.payload.msgId));
      expect(
        sent[app]!.filter((id) => !got.has(id)),
        app,
      ).toEqual([]);
    }
    expect(dingtalk.violations).toEqual([]);
    // Nobody spent more than the budget: first open, the changeover or the drop, and the restart.
    for (const app of APPS)
      expect(dingtalk.opens.filter((o) => o.kind === "ticket" && o.clientId === clientIdOf(app)).length).toBeLessThanOrEqual(3);
  });

  it("a storm of gateway kills opens no Stream connection at all", async () => {
    // The runtime kill above took the default app's link down too: let it come back first.
    await runCli(["status", "--json"], cliEnv(bridge.url));
    await until("the default app's link", () => live().length === 1);
    const before = ticketOpens();
    const sent: string[] = [];
    const got = new Set<string>();
    /** What a gateway printed; a killed one may have left half a line. */
    const printed = (stdout: string) => {
      for (const line of stdout.split("\n")) {
        try {
          got.add(JSON.parse(line).payload.msgId);
        } catch {
          // a partial last line
        }
      }
    };
    for (let i = 0; i < 6; i++) {
      const gw = startCli(["tail", "--consumer", "storm-gw", "--wait", "5000"], cliEnv(bridge.url));
      sent.push(sendTo("default", i));
      await sleep(400);
      process.kill(-gw.child.pid!, "SIGKILL"); // the hard way, as a crashing gateway goes
      printed((await gw.done).stdout);
    }
    expect(ticketOpens()).toBe(before);
    expect(live()).toHaveLength(1);
    const s = JSON.parse((await runCli(["status", "--json"], cliEnv(bridge.url))).stdout);
    expect(s.link.opens.length).toBeLessThanOrEqual(3);
    expect(dingtalk.unackedMsgIds().filter((id) => sent.includes(id))).toEqual([]);
    // The killed gateway's last long poll may still wait here (a local runtime does not see a client
    // vanish); its restart under the same id ends it and takes back what it held.
    printed((await runCli(["tail", "--once", "--consumer", "storm-gw"], cliEnv(bridge.url))).stdout);
    expect(sent.filter((id) => !got.has(id))).toEqual([]);
  });
});

describe("replies through the bridge", () => {
  it("dtbridge send replies by the session webhook, and sends to a conversation by the robot API", async () => {
    await runCli(["status", "--json"], cliEnv(bridge.url));
    await until("the default app's link", () => live().length === 1);
    const message = {
      ...sampleRobotMessage({ text: "ping" }),
      sessionWebhook: dingtalk.sessionWebhookUrl("e2e-session"),
      sessionWebhookExpiredTime: Date.now() + 3_600_000,
    };
    dingtalk.sendRobotMessage(message, { clientId: CLIENT_ID });
    const [event] = await drainAll(1);
    const reply = await runCli(["send", "--reply-to", event.id, "--text", "pong"], cliEnv(bridge.url));
    expect(reply.code).toBe(0);
    expect(JSON.parse(reply.stdout)).toMatchObject({ state: "sent", via: "sessionWebhook" });
    expect(dingtalk.sessionSends.filter((s) => s.session === "e2e-session").map((s) => s.body.text?.content)).toEqual(["pong"]);
    // Sent again, the default key from the event and the message makes it a no-op.
    expect(JSON.parse((await runCli(["send", "--reply-to", event.id, "--text", "pong"], cliEnv(bridge.url))).stdout).key).toBe(
      JSON.parse(reply.stdout).key,
    );
    expect(dingtalk.sessionSends.filter((s) => s.session === "e2e-session")).toHaveLength(1);

    const group = await runCli(["send", "--to-conversation", "cid-e2e", "--markdown", "**hi**", "--title", "Hi"], cliEnv(bridge.url));
    expect(JSON.parse(group.stdout)).toMatchObject({ state: "sent", via: "robotApi" });
    expect(dingtalk.robotSends.at(-1)).toMatchObject({
      body: { robotCode: CLIENT_ID, openConversationId: "cid-e2e", msgKey: "sampleMarkdown" },
    });
    const usage = await runCli(["send", "--text", "x"], cliEnv(bridge.url));
    expect(usage.code).toBe(2);
  });
});

describe.skipIf(defaultRuntime() === "serve")("npm run demo", () => {
  it("shows messages sent over a fake Stream arriving through dtbridge tail", async () => {
    const { spawn } = await import("node:child_process");
    const { freePort } = await import("../harness/local-bridge");
    const port = await freePort();
    const child = spawn(
      join(ROOT, "node_modules/.bin/tsx"),
      ["scripts/demo.ts", "--count", "2", "--every", "300", "--port", String(port)],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const code = await new Promise<number | null>((r) => child.on("close", r));
    expect(code).toBe(0);
    const lines = out.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^#1 stream -> inbox -> dtbridge tail: text "hello from the demo #1"/);
  });
});
