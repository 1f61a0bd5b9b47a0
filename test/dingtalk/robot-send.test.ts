import { describe, expect, it } from "vitest";
import { allowedSessionWebhook, judgeRobotApi, judgeSessionWebhook, msgKeyAndParam, readAccessToken } from "../../src/dingtalk/robot-send";

describe("the robot API and session webhooks, judged", () => {
  it("maps text and markdown to msgKey and a JSON-string msgParam", () => {
    expect(msgKeyAndParam({ msgtype: "text", text: { content: "hi" } })).toEqual({ msgKey: "sampleText", msgParam: '{"content":"hi"}' });
    expect(msgKeyAndParam({ msgtype: "markdown", markdown: { title: "T", text: "x" } })).toEqual({
      msgKey: "sampleMarkdown",
      msgParam: '{"title":"T","text":"x"}',
    });
  });

  it.each([
    [200, { processQueryKey: "k" }, "sent"],
    [429, {}, "retry"],
    [400, { code: "Throttling.Api" }, "retry"],
    [400, { code: "InvalidAuthentication", message: "不合法的access_token" }, "bad_token"],
    [401, { code: "InvalidAuthentication" }, "bad_token"],
    [400, { code: "invalidParameter.robotCode.auth", message: "no" }, "refused"],
    [403, { code: "Forbidden.AccessDenied" }, "refused"],
    [500, {}, "retry"],
    [503, "not json", "retry"],
  ])("%i %j is %s", (status, body, kind) => {
    expect(judgeRobotApi(status, body).kind).toBe(kind);
  });

  it("a one-to-one answer that throttled or did not know every recipient is not a send", () => {
    expect(judgeRobotApi(200, { processQueryKey: "k", flowControlledStaffIdList: ["u1"], invalidStaffIdList: [] }, 1).kind).toBe("retry");
    expect(judgeRobotApi(200, { processQueryKey: "k", flowControlledStaffIdList: [], invalidStaffIdList: ["u1"] }, 1)).toMatchObject({
      kind: "refused",
      code: "invalidStaffIdList",
    });
    // Some of several users: sent (a retry would post twice to the others).
    expect(judgeRobotApi(200, { processQueryKey: "k", flowControlledStaffIdList: ["u1"], invalidStaffIdList: [] }, 2).kind).toBe("sent");
  });

  it("reads session webhook answers by errcode", () => {
    expect(judgeSessionWebhook(200, { errcode: 0, errmsg: "ok" })).toEqual({ kind: "sent" });
    expect(judgeSessionWebhook(200, { errcode: 300001, errmsg: "session expired" })).toMatchObject({ kind: "refused", code: "300001" });
    expect(judgeSessionWebhook(200, { errcode: 130101 })).toMatchObject({ kind: "retry" });
    expect(judgeSessionWebhook(502, null)).toMatchObject({ kind: "retry" });
  });

  it("reads an access token and its lifetime", () => {
    expect(readAccessToken(200, { accessToken: "t", expireIn: 7200 })).toEqual({ token: "t", expiresInMs: 7_200_000 });
    expect(readAccessToken(200, { accessToken: "" })).toBeNull();
    expect(readAccessToken(400, { code: "invalidClientId" })).toBeNull();
  });

  it("calls session webhooks only on DingTalk's hosts or the API base's host", () => {
    const base = "http://127.0.0.1:9999";
    expect(allowedSessionWebhook("https://oapi.dingtalk.com/robot/sendBySession?session=1", "https://api.dingtalk.com")).not.toBeNull();
    expect(allowedSessionWebhook("http://127.0.0.1:9999/robot/sendBySession?session=1", base)).not.toBeNull();
    // Pointed at a fake DingTalk, the bridge never calls the real one.
    expect(allowedSessionWebhook("https://oapi.dingtalk.com/robot/sendBySession?session=1", base)).toBeNull();
    for (const bad of [
      "http://oapi.dingtalk.com/robot/sendBySession", // not https
      "https://dingtalk.com.attacker.example/x",
      "https://evil.example/?h=oapi.dingtalk.com",
      "https://user:pw@oapi.dingtalk.com/x",
      "http://127.0.0.1:9998/robot",
      "not a url",
      42,
    ]) {
      expect(allowedSessionWebhook(bad, base), String(bad)).toBeNull();
    }
  });
});
