import { describe, expect, it } from "vitest";
import { replyPaths } from "../../src/outbox/send-paths";

const now = 1_700_000_000_000;
const base = "https://api.dingtalk.com";
const message = (fields: Record<string, unknown>) => ({
  msgId: "m",
  conversationType: "2",
  conversationId: "cidG",
  senderStaffId: "staff1",
  robotCode: "robotX",
  sessionWebhook: "https://oapi.dingtalk.com/robot/sendBySession?session=s",
  sessionWebhookExpiredTime: now + 90 * 60_000,
  ...fields,
});

describe("which way a reply goes", () => {
  it("by the session webhook while it has more than 5 minutes left, the robot API as the fallback", () => {
    expect(replyPaths(message({}), now, base, "client")).toEqual({
      paths: [
        { via: "sessionWebhook", url: "https://oapi.dingtalk.com/robot/sendBySession?session=s" },
        { via: "robotApi", robotCode: "robotX", target: { openConversationId: "cidG" } },
      ],
    });
  });

  it("by the robot API alone at 5 minutes or less; one-to-one to the sender's staffId", () => {
    const r = replyPaths(
      message({ conversationType: "1", sessionWebhookExpiredTime: now + 5 * 60_000, robotCode: undefined }),
      now,
      base,
      "client",
    );
    expect(r).toEqual({ paths: [{ via: "robotApi", robotCode: "client", target: { userIds: ["staff1"] } }] });
  });

  it("takes sessionWebhookExpiredTime as a number or a string", () => {
    const r = replyPaths(message({ sessionWebhookExpiredTime: String(now + 60 * 60_000) }), now, base, "c");
    expect("paths" in r && r.paths[0]!.via).toBe("sessionWebhook");
  });

  it("says why when there is no way: an outside sender with an expired webhook", () => {
    const r = replyPaths(message({ conversationType: "1", senderStaffId: "", sessionWebhookExpiredTime: now }), now, base, "c");
    expect(r).toMatchObject({ error: expect.stringMatching(/no staffId/) });
  });
});
