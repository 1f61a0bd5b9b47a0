// dtbridge doctor end to end: a real bridge (wrangler dev) whose DingTalk is the fake, with each
// fault switched on in turn (in DingTalk, in the bridge's settings, in the token, in the URL), and
// each time the one check it concerns fails with its fix while the others keep their verdicts.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CheckLine } from "../../src/cli/doctor/checks";
import { ndjson, runCli } from "../harness/cli";
import { type FakeDingTalk, startFakeDingTalk } from "../harness/fake-dingtalk/index.ts";
import { freePort, type LocalBridge, startBridge } from "../harness/local-bridge";

const GOOD = { clientId: "doctor-good", clientSecret: "doctor-good-secret" };
const LINK = { clientId: "doctor-link", clientSecret: "doctor-link-secret" };
const APPS = {
  good: { ...GOOD, consumerTokens: ["tok-good", "drain+read:tok-reader", "send:tok-sender"] },
  link: { ...LINK, streamLink: true, consumerTokens: ["tok-link"] },
  badsecret: { clientId: GOOD.clientId, clientSecret: "not-the-secret", consumerTokens: ["tok-badsecret"] },
  linkrefused: { clientId: "doctor-unknown", clientSecret: "x", streamLink: true, consumerTokens: ["tok-linkrefused"] },
  broken: { clientId: "doctor-broken", consumerTokens: ["tok-broken"] },
};
/** What a run against the healthy HTTP-mode app gives; each fault below changes one line of it. */
const HEALTHY = {
  bridge: "pass",
  token: "pass",
  config: "pass",
  credentials: "pass",
  "robot-permission": "pass",
  link: "skip",
  "callback-url": "skip",
  "alert-sink": "pass",
};

let dingtalk: FakeDingTalk;
let bridge: LocalBridge;

function envFile(lines: Record<string, string>): string {
  const file = join(mkdtempSync(join(tmpdir(), "dtbridge-doctor-")), "doctor.env");
  writeFileSync(
    file,
    `${Object.entries(lines)
      .map(([k, v]) => `${k}='${v}'`)
      .join("\n")}\n`,
  );
  return file;
}

beforeAll(async () => {
  dingtalk = await startFakeDingTalk({ apps: [GOOD, LINK], pingIntervalMs: 0, redeliverAfterMs: 0 });
  bridge = await startBridge({
    envFile: envFile({
      BRIDGE_APPS: JSON.stringify(APPS),
      DINGTALK_API_BASE: dingtalk.url,
      ALERT_WEBHOOK_URL: `${dingtalk.url}/robot/send?access_token=doctor`,
    }),
  });
});
afterAll(async () => {
  await bridge?.stop();
  await dingtalk?.close();
});

async function doctor(app: string, token: string, ...args: string[]) {
  const res = await runCli(["doctor", "--json", "--wait", "20000", ...args], {
    ...process.env,
    DTBRIDGE_URL: bridge.url,
    DTBRIDGE_APP: app,
    DTBRIDGE_TOKEN: token,
  });
  const lines = ndjson(res.stdout) as CheckLine[];
  const verdicts = Object.fromEntries(lines.map((l) => [l.check, l.verdict]));
  const line = (check: string) => lines.find((l) => l.check === check)!;
  return { code: res.code, lines, verdicts, line, stderr: res.stderr };
}

describe("dtbridge doctor", () => {
  it("passes a healthy HTTP-mode app, and skips what does not apply (no link; a callback URL on this machine)", async () => {
    const run = await doctor("good", "tok-good");
    expect(run.verdicts).toEqual(HEALTHY);
    expect(run.code).toBe(0);
    expect(run.line("token").detail).toContain("drain, send, read, admin");
    expect(run.line("callback-url").detail).toContain("--public-url");
    // Other apps of this bridge raise their own alerts to the same sink, at any moment: find doctor's.
    const titles = dingtalk.customRobotSends.map((s) => (s.body as { markdown?: { title?: string } })?.markdown?.title);
    expect(titles).toContain("A test alert from dtbridge doctor");
    expect(run.stderr).toContain("6 passed, 0 failed, 2 not applicable");
  });

  it("passes an app whose link is open; its callback URL is not needed", async () => {
    const run = await doctor("link", "tok-link");
    expect(run.verdicts).toEqual({ ...HEALTHY, link: "pass" });
    expect(run.line("callback-url").detail).toContain("not needed while the bridge holds Stream");
  });

  it("fails the robot permission when DingTalk refuses the dry call with 403", async () => {
    dingtalk.setRobotPermission(false, GOOD.clientId);
    try {
      const run = await doctor("good", "tok-good");
      expect(run.verdicts).toEqual({ ...HEALTHY, "robot-permission": "fail" });
      expect(run.line("robot-permission")).toMatchObject({ detail: expect.stringContaining("AccessTokenPermissionDenied") });
      expect(run.line("robot-permission").fix).toContain("qyapi_robot_sendmsg");
      expect(run.code).toBe(1);
    } finally {
      dingtalk.setRobotPermission(true, GOOD.clientId);
    }
  });

  it("fails the credentials DingTalk refuses, and then does not judge the robot permission", async () => {
    const run = await doctor("badsecret", "tok-badsecret");
    expect(run.verdicts).toEqual({ ...HEALTHY, credentials: "fail", "robot-permission": "skip" });
    expect(run.line("credentials").fix).toContain("DINGTALK_CLIENT_SECRET");
    expect(run.code).toBe(1);
  });

  it("names the egress IP allowlist, and DingTalk unreachable, as the causes they are", async () => {
    dingtalk.failNext(
      "accessToken",
      1,
      { status: 403, body: { code: "Forbidden.AccessDenied.IpNotInWhiteList", message: "ip not in whitelist" } },
      GOOD.clientId,
    );
    const allowlist = await doctor("good", "tok-good");
    expect(allowlist.verdicts).toEqual({ ...HEALTHY, credentials: "fail", "robot-permission": "skip" });
    expect(allowlist.line("credentials").fix).toContain("egress IPs");

    dingtalk.failNext("accessToken", 1, "reset", GOOD.clientId);
    const unreachable = await doctor("good", "tok-good");
    expect(unreachable.line("credentials")).toMatchObject({ verdict: "fail", fix: expect.stringContaining("DINGTALK_API_BASE") });
  });

  it("fails a link DingTalk refuses", async () => {
    const run = await doctor("linkrefused", "tok-linkrefused");
    expect(run.line("link")).toMatchObject({ verdict: "fail", detail: expect.stringContaining("refused") });
    expect(run.line("link").fix).toContain("Stream模式");
    expect(run.code).toBe(1);
  });

  it("fails an alert sink that does not take the test alert", async () => {
    dingtalk.failNext("customRobot", 1, { status: 200, body: { errcode: 310000, errmsg: "sign not match" } });
    const run = await doctor("good", "tok-good");
    expect(run.verdicts).toEqual({ ...HEALTHY, "alert-sink": "fail" });
    expect(run.line("alert-sink").fix).toContain("ALERT_WEBHOOK_SECRET");
  });

  it("fails a token without the admin scope, naming its scopes, and skips what it may not check", async () => {
    const run = await doctor("good", "tok-reader");
    expect(run.verdicts).toEqual({ ...HEALTHY, token: "fail", credentials: "skip", "robot-permission": "skip", "alert-sink": "skip" });
    expect(run.line("token").detail).toContain("drain, read");
    expect(run.code).toBe(1);
  });

  it("fails a token that may not even read the app's status, and checks nothing after it", async () => {
    const run = await doctor("good", "tok-sender");
    expect(run.line("token")).toMatchObject({ verdict: "fail", detail: expect.stringContaining("scope") });
    expect(run.lines.filter((l) => l.verdict !== "skip").map((l) => l.check)).toEqual(["bridge", "token"]);
    expect(run.code).toBe(1);
  });

  it("exits 3 for a refused token, and for an app the bridge does not have, naming the apps it has", async () => {
    const refused = await doctor("good", "tok-wrong");
    expect(refused.code).toBe(3);
    expect(refused.verdicts).toEqual({ bridge: "pass", token: "fail" });
    const unknown = await doctor("nosuchapp", "tok-good");
    expect(unknown.code).toBe(3);
    expect(unknown.line("token").detail).toContain("(it has: badsecret, broken, good, link, linkrefused)");
  });

  it("fails an app whose settings are broken, and checks nothing after it", async () => {
    const run = await doctor("broken", "tok-broken");
    expect(run.line("config")).toMatchObject({ verdict: "fail", detail: expect.stringContaining("broken") });
    expect(run.lines.filter((l) => l.verdict === "pass").map((l) => l.check)).toEqual(["bridge"]);
    expect(run.code).toBe(1);
  });

  it("fails a public callback URL on workers.dev, on plain http, or not answering", async () => {
    const workersDev = await doctor("good", "tok-good", "--public-url", "https://dtbridge.example.workers.dev");
    expect(workersDev.line("callback-url")).toMatchObject({ verdict: "fail", detail: expect.stringContaining("mainland China") });
    expect(workersDev.code).toBe(1);
    const http = await doctor("good", "tok-good", "--public-url", "http://bridge.example.com");
    expect(http.line("callback-url").detail).toContain("not https");
    const nowhere = await doctor("good", "tok-good", "--public-url", "https://bridge.invalid");
    expect(nowhere.line("callback-url")).toMatchObject({ verdict: "fail", detail: expect.stringContaining("did not answer") });
    // Even with the link on, a URL given is checked.
    const linkApp = await doctor("link", "tok-link", "--public-url", "https://dtbridge.example.workers.dev");
    expect(linkApp.line("callback-url").verdict).toBe("fail");
  });

  it("exits 5 when nothing answers at the URL", async () => {
    const res = await runCli(["doctor", "--json"], {
      ...process.env,
      DTBRIDGE_URL: `http://127.0.0.1:${await freePort()}`,
      DTBRIDGE_TOKEN: "tok-good",
    });
    expect(res.code).toBe(5);
    expect(ndjson(res.stdout)).toMatchObject([{ check: "bridge", verdict: "fail" }]);
  });
});

describe("dtbridge doctor against a bridge with settings that fell back and no alert sink", () => {
  let plain: LocalBridge;
  beforeAll(async () => {
    plain = await startBridge({
      envFile: envFile({ BRIDGE_APPS: JSON.stringify({ good: APPS.good }), DINGTALK_API_BASE: dingtalk.url, MAX_ATTEMPTS: "lots" }),
    });
  });
  afterAll(async () => {
    await plain?.stop();
  });

  it("fails the config naming the setting, and the alert sink as unset", async () => {
    const res = await runCli(["doctor", "--json", "--url", plain.url, "--app", "good", "--token", "tok-good"], process.env);
    const lines = ndjson(res.stdout) as CheckLine[];
    const line = (check: string) => lines.find((l) => l.check === check)!;
    expect(Object.fromEntries(lines.map((l) => [l.check, l.verdict]))).toEqual({ ...HEALTHY, config: "fail", "alert-sink": "fail" });
    expect(line("config").detail).toContain("MAX_ATTEMPTS");
    expect(line("config").detail).not.toContain("lots");
    expect(line("alert-sink").fix).toContain("ALERT_WEBHOOK_URL");
    expect(res.code).toBe(1);
  });
});
