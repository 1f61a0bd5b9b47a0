// Direct access to one app's inbox object, with a clock the test moves by hand.
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import type { BridgeEvent } from "../../../src/client/types";
import type { Tunables } from "../../../src/config/tunables";
import type { Inbox } from "../../../src/inbox/inbox";
import type { PullResult } from "../../../src/inbox/types";
import { ManualClock } from "../../../src/lib/clock";

export async function inboxWithClock(app: string, start = Date.now()) {
  const stub = env.INBOX.getByName(app);
  const clock = new ManualClock(start);
  await runInDurableObject(stub, (inbox: Inbox) => {
    inbox.clock = clock;
  });
  return {
    stub,
    clock,
    /** Moves the clock and runs the alarm, as the runtime would once the time comes, and waits for what it sent. */
    async advance(ms: number) {
      clock.advance(ms);
      await runDurableObjectAlarm(stub);
      await delivered(stub);
    },
    set: (overrides: Partial<Tunables>) => overrideTunables(app, overrides),
  };
}

/** Waits for the alerts and send retries an alarm started beside itself. */
export function delivered(stub: DurableObjectStub<Inbox>): Promise<void> {
  return runInDurableObject(stub, async (inbox: Inbox) => {
    // The deliveries are the object's own business; a test reaches in to wait for them.
    await (inbox as unknown as { parts: { deliveries: { running: Promise<void> | null } } }).parts.deliveries.running;
  });
}

/**
 * Waits until `count` long polls wait in the app's inbox. A test that needs a poll waiting (or polls
 * in a given order) waits for it: a fixed sleep is too short when three test files share two cores.
 */
export async function untilWaiting(app: string, count: number): Promise<void> {
  const waiting = () =>
    runInDurableObject(
      env.INBOX.getByName(app),
      (inbox: Inbox) => (inbox as unknown as { parts: { waiters: { size: number } } }).parts.waiters.size,
    );
  await expect.poll(waiting, { timeout: 10_000 }).toBe(count);
}

/**
 * Throws an object's live instance away, as an eviction or a deploy does: its next call builds a new
 * one from SQLite alone. The abort must happen (its call rejects), or the test would prove nothing.
 */
export async function restartObject(stub: DurableObjectStub, why = "restarted by the test"): Promise<void> {
  await expect(runInDurableObject(stub, (_object, state) => state.abort(why))).rejects.toThrow();
}

/** Runs the alarm now and waits for what it sent. */
export async function runAlarm(stub: DurableObjectStub<Inbox>): Promise<boolean> {
  const ran = await runDurableObjectAlarm(stub);
  await delivered(stub);
  return ran;
}

/** Other thresholds for one app's inbox than the Worker's vars, on the real clock. */
export function overrideTunables(app: string, overrides: Partial<Tunables>) {
  return runInDurableObject(env.INBOX.getByName(app), (inbox: Inbox) => {
    inbox.tunableOverrides = overrides;
  });
}

/**
 * Stores a robot message as a callback would. Each message is its own conversation unless `extra`
 * names one, so tests of plain leasing are not held back by the ordering of one conversation.
 */
export function ingestRobot(app: string, msgId: string, extra: Record<string, unknown> = {}, source: "webhook" | "stream" = "webhook") {
  const conversationId = (extra.conversationId as string | undefined) ?? `cid-${msgId}`;
  const payload = JSON.stringify({ msgId, msgtype: "text", text: { content: msgId }, conversationId, ...extra });
  return env.INBOX.getByName(app).ingest({
    kind: "robot",
    source,
    dedupKey: `robot:${msgId}`,
    payload,
    conversationId,
    sender: (extra.senderStaffId as string | undefined) ?? null,
    msgId,
  });
}

/** The events of the inbox's own pull answer (JSON text), read as consumers read them. */
export function leasedEvents(result: PullResult): BridgeEvent[] {
  return result.events.map((e) => JSON.parse(e) as BridgeEvent);
}
