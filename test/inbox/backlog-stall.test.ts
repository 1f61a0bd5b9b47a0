// A stalled backlog is an incident (issue 20, item 5): consumers attached, yet the oldest event one
// could take waits past BACKLOG_STALL_MS, the case of a gateway alive but stuck. It resolves once
// the backlog drains; nobody attached is the consumers-detached incident's case, not this one.
import { describe, expect, it } from "vitest";
import { freshApp } from "../harness/workerd/apps";
import { consumerJson } from "../harness/workerd/dingtalk";
import { inboxWithClock, ingestRobot } from "../harness/workerd/inbox";

const MIN = 60_000;
const incidents = async (app: string) => (await consumerJson(app, "status")).incidents.map((i: any) => i.incident);

describe("a stalled backlog", () => {
  it("opens while consumers heartbeat but nothing is taken, and resolves once it drains", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await consumerJson(app, "heartbeat", { consumer: "gw" });
    await ingestRobot(app, "waiting");
    for (let i = 0; i < 10; i++) {
      await inbox.advance(MIN / 2);
      await consumerJson(app, "heartbeat", { consumer: "gw" });
    }
    expect(await incidents(app)).toContain("backlog_stalled");
    const alert = (await consumerJson(app, "status")).alerts.find((a: any) => a.incident === "backlog_stalled");
    expect(alert.title).toMatch(/attached but the backlog is not draining/);
    const { events } = await consumerJson(app, "pull", { consumer: "gw" });
    await consumerJson(app, "ack", { leaseIds: [events[0].leaseId] });
    await inbox.advance(30_000);
    expect(await incidents(app)).not.toContain("backlog_stalled");
  });

  it("is not raised for events nobody may take yet (a nack delay), nor while nobody is attached", async () => {
    const app = freshApp();
    const inbox = await inboxWithClock(app);
    await ingestRobot(app, "delayed");
    const { events } = await consumerJson(app, "pull", { consumer: "gw" });
    await consumerJson(app, "nack", { leaseIds: [events[0].leaseId], delayMs: 20 * MIN });
    for (let i = 0; i < 12; i++) {
      await inbox.advance(MIN / 2);
      await consumerJson(app, "heartbeat", { consumer: "gw" });
    }
    expect(await incidents(app)).not.toContain("backlog_stalled");
  });
});
