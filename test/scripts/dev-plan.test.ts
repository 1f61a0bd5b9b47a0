// What `npm run dev` starts: a fake DingTalk knowing every local app, unless told otherwise.
import { describe, expect, it } from "vitest";
import { devPlan } from "../../scripts/dev-plan";
import { SAMPLE_ROBOT_CODE } from "../../src/dingtalk/sample-messages";

const local = { DINGTALK_CLIENT_ID: "dinglocal", DINGTALK_CLIENT_SECRET: "s", BRIDGE_CONSUMER_TOKENS: "t" };

describe("npm run dev's plan", () => {
  it("runs a fake DingTalk for the local app, and points the bridge's DingTalk calls and alerts at it", () => {
    const plan = devPlan(["--port", "8911"], local);
    expect(plan.fakeApps).toEqual([{ clientId: "dinglocal", clientSecret: "s", robotCode: SAMPLE_ROBOT_CODE }]);
    expect(plan.wranglerArgs).toEqual(["--port", "8911"]);
    expect(plan.vars("http://127.0.0.1:9")).toEqual({
      DINGTALK_API_BASE: "http://127.0.0.1:9",
      ALERT_WEBHOOK_URL: "http://127.0.0.1:9/robot/send?access_token=local-dev",
    });
  });

  it("knows every app of BRIDGE_APPS, and leaves an alert sink of .dev.vars alone", () => {
    const apps = JSON.stringify({ a: { clientId: "ida", clientSecret: "sa" }, b: { clientId: "idb" }, c: null });
    const plan = devPlan([], { BRIDGE_APPS: apps, ALERT_WEBHOOK_URL: "https://example.com/hook" });
    expect(plan.fakeApps?.map((a) => a.clientId)).toEqual(["ida"]);
    expect(plan.vars("http://f")).toEqual({ DINGTALK_API_BASE: "http://f" });
    expect(devPlan([], { ...local, BRIDGE_APPS: "{not json" }).fakeApps).toHaveLength(1);
  });

  it("runs no fake with --real-dingtalk (not passed on to wrangler), or when .dev.vars names DINGTALK_API_BASE", () => {
    const real = devPlan(["--real-dingtalk", "--port", "1"], local);
    expect(real).toMatchObject({ fakeApps: null, wranglerArgs: ["--port", "1"], reason: expect.stringContaining("real DingTalk") });
    expect(devPlan([], { ...local, DINGTALK_API_BASE: "https://api.dingtalk.com" })).toMatchObject({
      fakeApps: null,
      reason: expect.stringContaining(".dev.vars"),
    });
  });
});
