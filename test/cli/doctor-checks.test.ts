// doctor's verdicts from the bridge's answers, without a bridge: what each state of each check
// concludes, and the fix it names.
import { describe, expect, it } from "vitest";
import { callbackUrl, judgeProbe, notNeeded, unusable } from "../../src/cli/doctor/callback-url";
import {
  failed,
  judgeAlertSink,
  judgeConfig,
  judgeCredentials,
  judgeLink,
  judgeOutdated,
  judgeRefusedToken,
  judgeRobotPermission,
  judgeToken,
} from "../../src/cli/doctor/checks";
import { renderLine, summary } from "../../src/cli/doctor/render";

const healthy = { ok: true, apps: { default: { config: "ok" as const, inbox: "ok" as const } } };
const no = (detail: string) => ({ ok: false, detail });
const yes = (detail: string) => ({ ok: true, detail });

describe("doctor's checks", () => {
  it("the token: admin needed for the DingTalk checks; a refusal tells a wrong token from an unknown app", () => {
    expect(judgeToken(["drain", "send", "read", "admin"]).verdict).toBe("pass");
    expect(judgeToken(["send"])).toMatchObject({ verdict: "fail", detail: expect.stringContaining("(send) lack admin") });
    expect(judgeToken([]).detail).toContain("(none)");
    expect(judgeRefusedToken("default", healthy).detail).toContain("refused the token");
    expect(judgeRefusedToken("other", healthy)).toMatchObject({
      detail: expect.stringContaining("(it has: default)"),
      fix: expect.stringContaining("--app"),
    });
  });

  it("the config: broken, an inbox that does not answer, settings that fell back", () => {
    const status = { config: { problems: [] } };
    expect(judgeConfig("default", healthy, status).verdict).toBe("pass");
    expect(judgeConfig("default", { ok: false, apps: { default: { config: "broken" } } }, status).verdict).toBe("fail");
    expect(judgeConfig("default", healthy, null).verdict).toBe("fail");
    expect(judgeConfig("default", { ok: false, apps: { default: { config: "ok", inbox: "unreachable" } } }, status).detail).toContain(
      "did not answer",
    );
    const fellBack = judgeConfig("default", healthy, {
      config: { problems: [{ setting: "LEASE_MS", problem: "must be a whole number" }] },
    });
    expect(fellBack).toMatchObject({ verdict: "fail", detail: expect.stringContaining("LEASE_MS: must be a whole number") });
  });

  it("the config: storage a newer bridge wrote", () => {
    expect(judgeOutdated("inbox storage is at schema v9, written by a newer version of the bridge")).toMatchObject({
      check: "config",
      verdict: "fail",
      fix: expect.stringContaining("Upgrading"),
    });
  });

  it("the credentials: the fix follows DingTalk's reason", () => {
    expect(judgeCredentials(yes("DingTalk issued an access token")).verdict).toBe("pass");
    expect(judgeCredentials(no("access token refused: invalidClientSecret: 无效的clientSecret")).fix).toContain("DINGTALK_CLIENT_SECRET");
    expect(judgeCredentials(no("Forbidden.AccessDenied.IpNotInWhiteList: ip")).fix).toContain("egress IPs");
    expect(judgeCredentials(no("access token: timed out")).fix).toContain("DINGTALK_API_BASE");
  });

  it("the robot permission is judged only with an access token", () => {
    expect(judgeRobotPermission(no("403"), no("refused")).verdict).toBe("skip");
    expect(judgeRobotPermission(no("403"), yes("ok")).fix).toContain("qyapi_robot_sendmsg");
    expect(judgeRobotPermission(yes("dry call answered 400"), yes("ok")).verdict).toBe("pass");
  });

  it("the link: off is not applicable, open passes, anything else fails with why", () => {
    expect(judgeLink(undefined, 0).verdict).toBe("skip");
    expect(judgeLink({ state: "off" }, 0).verdict).toBe("skip");
    expect(judgeLink({ state: "open", lastFrameAt: 1_000 }, 31_000)).toMatchObject({
      verdict: "pass",
      detail: "open, last frame 30 s ago",
    });
    expect(judgeLink({ state: "refused", lastError: "401 unauthorized" }, 0).detail).toContain("401 unauthorized");
    expect(judgeLink({ state: "backoff", lastError: "socket closed" }, 0)).toMatchObject({
      verdict: "fail",
      fix: expect.stringContaining("budget"),
    });
    expect(judgeLink({ state: "connecting", lastError: null }, 0).verdict).toBe("fail");
  });

  it("the alert sink: unset, refused by a signed robot, or not answering", () => {
    expect(judgeAlertSink(yes("the alert sink took a test alert")).verdict).toBe("pass");
    expect(judgeAlertSink(no("no alert sink is configured (ALERT_WEBHOOK_URL): alerts are only logged")).fix).toContain(
      "ALERT_WEBHOOK_URL",
    );
    expect(judgeAlertSink(no("DingTalk robot answered errcode 310000")).fix).toContain("signing secret");
    expect(judgeAlertSink(no("sink answered 500")).detail).toContain("sink answered 500");
    expect(judgeAlertSink(null).verdict).toBe("skip");
  });

  it("the exit code's question: did any check fail", () => {
    expect(failed([judgeToken(["admin"]), judgeLink(undefined, 0)])).toBe(false);
    expect(failed([judgeToken([])])).toBe(true);
  });
});

describe("doctor's callback URL", () => {
  it("is --public-url's origin, else the robot URL the bridge reports, else the bridge's own address", () => {
    expect(callbackUrl("a", "https://b.example.com/ignored/path", "https://x/dingtalk/a/robot", "http://127.0.0.1:8787")).toBe(
      "https://b.example.com/dingtalk/a/robot",
    );
    expect(callbackUrl("a", undefined, "https://x.example/dingtalk/a/robot", "http://127.0.0.1:8787")).toBe(
      "https://x.example/dingtalk/a/robot",
    );
    expect(callbackUrl("a", undefined, null, "http://127.0.0.1:8787/")).toBe("http://127.0.0.1:8787/dingtalk/a/robot");
  });

  it("is never usable on this machine, on a private address, on plain http, or on workers.dev", () => {
    expect(unusable(new URL("http://127.0.0.1:8787/dingtalk/a/robot"), "reported")).toMatchObject({
      verdict: "skip",
      detail: expect.stringContaining("set PUBLIC_URL"),
    });
    expect(unusable(new URL("https://[::1]/dingtalk/a/robot"), "given")?.detail).not.toContain("PUBLIC_URL");
    expect(unusable(new URL("https://10.1.2.3/dingtalk/a/robot"), "given")?.verdict).toBe("fail");
    expect(unusable(new URL("https://172.20.0.1/dingtalk/a/robot"), "given")?.verdict).toBe("fail");
    expect(unusable(new URL("https://172.32.0.1/dingtalk/a/robot"), "given")).toBeNull();
    expect(unusable(new URL("http://bridge.example.com/dingtalk/a/robot"), "given")?.detail).toContain("not https");
    expect(unusable(new URL("https://bridge.someone.workers.dev/dingtalk/a/robot"), "given")?.detail).toContain("mainland China");
    expect(unusable(new URL("https://bridge.example.com/dingtalk/a/robot"), "given")).toBeNull();
    expect(notNeeded("https://b/dingtalk/a/robot").verdict).toBe("skip");
  });

  it("reaches the bridge when a GET answers the bridge's own 404, and not when anything else answers", () => {
    const url = "https://bridge.example.com/dingtalk/a/robot";
    expect(
      judgeProbe(url, { status: 404, body: { error: { code: "not_found", message: "no route GET /dingtalk/a/robot" } } }).verdict,
    ).toBe("pass");
    expect(judgeProbe(url, { status: 404, body: "<html>nginx</html>" })).toMatchObject({
      verdict: "fail",
      detail: expect.stringContaining("HTTP 404"),
    });
    expect(judgeProbe(url, { status: 301, body: null }).verdict).toBe("fail");
    expect(judgeProbe(url, { error: "getaddrinfo ENOTFOUND" }).detail).toContain("ENOTFOUND");
  });
});

describe("doctor's report", () => {
  it("puts the fix under its check, and counts the verdicts", () => {
    const line = judgeToken([]);
    expect(renderLine(line).split("\n")).toEqual([
      expect.stringMatching(/^FAIL {2}token {13}accepted/),
      expect.stringMatching(/^ {24}fix: /),
    ]);
    expect(summary([line, judgeLink(undefined, 0)])).toBe("0 passed, 1 failed, 1 not applicable");
  });
});
