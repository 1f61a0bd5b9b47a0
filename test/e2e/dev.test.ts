// npm run dev as a newcomer runs it: the bridge with a fake DingTalk beside it, so a send shows
// `sent`, the outbox fills, alerts reach the fake, and doctor passes what applies, all with nothing real.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, runCli } from "../harness/cli";
import { defaultRuntime, freePort, ROOT, stopTree } from "../harness/local-bridge";
import { waitUntilUp } from "../harness/processes";

const TOKEN = "local-dev-consumer-token";
let dev: ChildProcess;
let output = "";
let url: string;

beforeAll(async () => {
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const args = [
    "--port",
    String(port),
    "--persist-to",
    mkdtempSync(join(tmpdir(), "dtbridge-dev-")),
    "--inspector-port",
    String(await freePort()),
  ];
  dev = spawn("npm", ["run", "dev", "--", ...args, "--show-interactive-dev-session=false"], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: "true" },
  });
  dev.stdout!.on("data", (d) => (output += d));
  dev.stderr!.on("data", (d) => (output += d));
  await waitUntilUp(`${url}/health`, dev, () => output);
});
afterAll(async () => {
  if (dev) await stopTree(dev, "SIGTERM");
});

const api = (path: string, body?: unknown) =>
  fetch(`${url}/v1/default/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe.skipIf(defaultRuntime() === "serve")("npm run dev", () => {
  it("sends to a fake DingTalk beside the bridge: the send is sent and the outbox shows it", async () => {
    const res = await api("send", {
      to: { openConversationId: "cid1" },
      message: { msgtype: "text", text: { content: "pong" } },
      key: "dev-1",
    });
    expect(await res.json()).toEqual({ via: "robotApi", state: "sent", key: "dev-1" });
    const { sends } = (await (await api("outbox")).json()) as { sends: { key: string; state: string }[] };
    expect(sends).toMatchObject([{ key: "dev-1", state: "sent" }]);

    const fakeUrl = /a fake DingTalk on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    expect(fakeUrl, output).toBeDefined();
    const state = (await (await fetch(`${fakeUrl}/_fake/state`)).json()) as { robotSends: { body: { openConversationId: string } }[] };
    expect(state.robotSends.map((s) => s.body.openConversationId)).toEqual(["cid1"]);
  });

  it("lets doctor check DingTalk and the alert sink against the fake", async () => {
    const res = await runCli(["doctor", "--json"], cliEnv(url));
    expect(res.code, res.stdout).toBe(0);
  });
});
