import { describe, expect, it } from "vitest";
import { buildAlertRequest, isDingTalkRobotUrl } from "../../src/dingtalk/alert-sink";
import { robotSign } from "../../src/dingtalk/robot-sign";

const alert = {
  app: "default",
  incident: "stuck_routing",
  phase: "open",
  title: "Suspected stuck routing",
  text: "Switch to HTTP.",
  at: 1_700_000_000_000,
};

describe("alert requests", () => {
  it("sends a DingTalk custom robot markdown, signed as section 4 describes", async () => {
    const req = await buildAlertRequest("https://oapi.dingtalk.com/robot/send?access_token=abc", "SECret", alert, 1_700_000_000_123);
    const url = new URL(req.url);
    expect(url.searchParams.get("access_token")).toBe("abc");
    expect(url.searchParams.get("timestamp")).toBe("1700000000123");
    expect(url.searchParams.get("sign")).toBe(await robotSign("SECret", "1700000000123"));
    // URLSearchParams encodes the base64 sign (+ / =) in the query string.
    expect(req.url).not.toMatch(/sign=[^&]*[+/=]/);
    const body = (await req.json()) as any;
    expect(body.msgtype).toBe("markdown");
    expect(body.markdown.title).toBe("Suspected stuck routing");
    expect(body.markdown.text).toContain("Switch to HTTP.");
    expect(body.markdown.text).toContain("**default**");
  });

  it("leaves an unsigned DingTalk robot URL unsigned", async () => {
    const req = await buildAlertRequest("https://oapi.dingtalk.com/robot/send?access_token=abc", undefined, alert, 1);
    expect(new URL(req.url).searchParams.has("sign")).toBe(false);
  });

  it("posts plain JSON to any other URL", async () => {
    const req = await buildAlertRequest("https://alerts.example.com/hook", "ignored", alert, 1);
    expect(req.url).toBe("https://alerts.example.com/hook");
    expect(req.headers.get("content-type")).toContain("application/json");
    expect(await req.json()).toEqual({ source: "dingtalk-fallback-bridge", ...alert, atIso: "2023-11-14T22:13:20.000Z" });
  });

  it("recognises the robot URL by its path", () => {
    expect(isDingTalkRobotUrl(new URL("http://127.0.0.1:9/robot/send?access_token=x"))).toBe(true);
    expect(isDingTalkRobotUrl(new URL("https://hooks.example.com/robot/sender"))).toBe(false);
  });
});
