// The TypeScript client's sending: reply() derives one key per event and message, so a retried reply
// is sent once; a refusal is a typed, non-retryable error.
import { SELF } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { BridgeClient } from "../../src/client/bridge-client";
import { BridgeSendFailedError, BridgeSendRefusedError, errorForStatus } from "../../src/client/errors";
import { replyKey } from "../../src/client/reply-key";
import { tokenFor } from "../harness/test-env";
import { claimSendApp } from "../harness/workerd/apps";
import { BASE } from "../harness/workerd/dingtalk";
import { fake } from "../harness/workerd/fake";
import { ingestRobotMessage } from "../harness/workerd/sending";

const APP = await claimSendApp();
const client = new BridgeClient({
  url: BASE,
  token: tokenFor(APP),
  app: APP,
  consumer: "gw",
  fetch: (i, init) => SELF.fetch(i as string, init),
});

describe("client.send and client.reply", () => {
  it("derives the same reply key as the Python client, from the event and the canonical message", async () => {
    expect(await replyKey("evt_1", { msgtype: "text", text: { content: "hi" } })).toBe("reply:evt_1:7a8cd1aa3c3363ab3fb9954f4484338d");
    expect(await replyKey("evt_1", { text: { content: "hi" }, msgtype: "text" })).toBe("reply:evt_1:7a8cd1aa3c3363ab3fb9954f4484338d");
    expect(await replyKey("evt_2", { msgtype: "markdown", markdown: { title: "标题", text: "**粗体** 🚀\n" } })).toBe(
      "reply:evt_2:43c1747b8821d7c98dd93bf7bab48053",
    );
    // The Python client's test vector (clients/python/test_dingtalk_bridge.py).
    expect(await replyKey("evt-1", { msgtype: "markdown", markdown: { title: "Hermes", text: "你好 **world**" } })).toBe(
      "reply:evt-1:6029336467ed1009a20d12966d34cf6e",
    );
  });

  it("a reply retried after a crash is sent once", async () => {
    const msgId = `msg-${crypto.randomUUID()}`;
    const payload = {
      msgId,
      msgtype: "text",
      conversationType: "2",
      conversationId: "cid",
      sessionWebhook: `${inject("fakeDingTalkUrl")}/robot/sendBySession?session=${msgId}`,
      sessionWebhookExpiredTime: Date.now() + 3_600_000,
    };
    await ingestRobotMessage(APP, payload);
    const [event] = (await client.pull({ max: 1 })).events;
    const message = { msgtype: "text" as const, text: { content: `answer to ${msgId}` } };
    const first = await client.reply(event!, message);
    const second = await client.reply(event!, message);
    expect(first).toEqual(second);
    expect(first).toMatchObject({ state: "sent", via: "sessionWebhook", key: await replyKey(event!.id, message) });
    expect((await fake("state")).sessionSends.filter((s: any) => s.session === msgId)).toHaveLength(1);
    expect(await client.sendFate(first.key)).toMatchObject({ state: "sent", attempts: 1 });
  });

  it("a message DingTalk refuses throws BridgeSendRefusedError with DingTalk's code, not retryable", async () => {
    // A reply through the robot API as another app's robot: DingTalk refuses the robotCode.
    const msgId = `msg-${crypto.randomUUID()}`;
    const payload = { msgId, msgtype: "text", conversationType: "2", conversationId: "cid", robotCode: "someone-elses-robot" };
    await ingestRobotMessage(APP, payload);
    const event = (await client.pull({ max: 1 })).events[0]!;
    const error = await client.reply(event, { msgtype: "text", text: { content: "x" } }).catch((e) => e);
    expect(error).toBeInstanceOf(BridgeSendRefusedError);
    expect(error).toMatchObject({ status: 502, retryable: false, dingtalkCode: "invalidParameter.robotCode.auth" });
  });

  it("a send the bridge gave up on is final, not retryable like other 5xx answers", () => {
    const error = errorForStatus(502, "dingtalk_unreachable", "DingTalk could not be reached for 24 hours");
    expect(error).toBeInstanceOf(BridgeSendFailedError);
    expect(error.retryable).toBe(false);
    expect(errorForStatus(502, "bad_gateway", "x").retryable).toBe(true);
  });
});
