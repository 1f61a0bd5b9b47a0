// A burst of callbacks is committed together (src/lib/burst-batch.ts): each caller still gets its
// own answer, a message sent twice within one burst is stored once, and a message that cannot be
// stored fails alone.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { IngestRequest } from "../../src/inbox/types";
import { freshApp } from "../harness/workerd/apps";
import { consumerJson } from "../harness/workerd/dingtalk";
import { inboxWithClock, ingestRobot } from "../harness/workerd/inbox";

describe("a burst of callbacks", () => {
  it("stores each message once and answers each caller for its own", async () => {
    const app = freshApp();
    // The clock stands still: every call after the first is part of a burst.
    await inboxWithClock(app);
    const ids = Array.from({ length: 30 }, (_, i) => `burst-${i}`);
    const answers = await Promise.all([...ids.map((id) => ingestRobot(app, id)), ingestRobot(app, "burst-7")]);
    // Each call has a stub of its own, so the two calls with burst-7 may arrive in either order:
    // whichever comes second is the duplicate (a loaded CI machine delivered the second one first).
    const sevens = [answers[7]!, answers[30]!];
    expect(sevens.map((a) => `${a.stored} ${a.outcome}`).sort()).toEqual(["false duplicate", "true ready"]);
    expect(
      answers
        .slice(0, 30)
        .filter((_, i) => i !== 7)
        .every((a) => a.stored && a.outcome === "ready"),
    ).toBe(true);
    const { events } = await consumerJson(app, "pull", { max: 100 });
    expect(events.map((e: { payload: { msgId: string } }) => e.payload.msgId).sort()).toEqual([...ids].sort());
    const status = await consumerJson(app, "status");
    expect(status.counters).toMatchObject({ callbacksAccepted: 30, duplicates: 1 });
  });

  it("fails a message that cannot be stored without failing the rest of its burst", async () => {
    const app = freshApp();
    await inboxWithClock(app);
    const stub = env.INBOX.getByName(app);
    const broken = { kind: "robot", source: "webhook", dedupKey: "robot:broken", payload: null, conversationId: null, msgId: "broken" };
    const answers = await Promise.allSettled([
      ingestRobot(app, "before"),
      stub.ingest(broken as unknown as IngestRequest),
      ingestRobot(app, "after"),
    ]);
    expect(answers.map((a) => a.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const { events } = await consumerJson(app, "pull", { max: 10 });
    expect(events.map((e: { payload: { msgId: string } }) => e.payload.msgId).sort()).toEqual(["after", "before"]);
  });
});
