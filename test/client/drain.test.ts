import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BridgeClient } from "../../src/client/bridge-client";
import { drain } from "../../src/client/drain";
import { BridgeAuthError, BridgeRequestError } from "../../src/client/errors";
import { StreamHealth } from "../../src/client/stream-health";
import type { BridgeEvent } from "../../src/client/types";
import { tokenFor } from "../harness/test-env";
import { freshApp } from "../harness/workerd/apps";
import { BASE, consumerJson } from "../harness/workerd/dingtalk";
import { ingestRobot, overrideTunables } from "../harness/workerd/inbox";

function clientFor(app: string, consumer = "gw", token = tokenFor(app)) {
  return new BridgeClient({ url: BASE, token, app, consumer, fetch: (input, init) => SELF.fetch(input as string, init) });
}

/** Drains until the handler calls `stop`, as a gateway's shutdown would, and returns drain's stats. */
function drainUntil(
  client: BridgeClient,
  handle: (e: BridgeEvent, stop: () => void) => unknown,
  options: Omit<Parameters<typeof drain>[2], "signal">,
) {
  const stop = new AbortController();
  return drain(client, (e) => handle(e, () => stop.abort()), { ...options, signal: stop.signal });
}

describe("the TypeScript client", () => {
  it("drains in order, acking each handled event", async () => {
    const app = freshApp();
    for (let i = 0; i < 12; i++) await ingestRobot(app, `m${i}`);
    const seen: number[] = [];
    const stats = await drainUntil(
      clientFor(app),
      (e, stop) => {
        seen.push(e.seq);
        if (seen.length === 12) stop();
      },
      { max: 5, waitMs: 1000 },
    );
    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(stats.acked).toBe(12);
    expect((await consumerJson(app, "status")).depth).toBe(0);
  });

  it("nacks with backoff when the handler throws, and retries the event later", async () => {
    const app = freshApp();
    await ingestRobot(app, "flaky");
    const attempts: number[] = [];
    const stats = await drainUntil(
      clientFor(app),
      (e, stop) => {
        attempts.push(e.attempt);
        if (e.attempt < 3) throw new Error(`try ${e.attempt}`);
        stop();
      },
      { waitMs: 500, retryDelayMs: () => 50, onError: () => {} },
    );
    expect(attempts).toEqual([1, 2, 3]);
    expect(stats).toMatchObject({ acked: 1, nacked: 2 });
  });

  it("extends the lease while a handler runs past half of it", async () => {
    const app = freshApp();
    await ingestRobot(app, "slow");
    let rival: BridgeEvent[] = [];
    await drainUntil(
      clientFor(app),
      async (_e, stop) => {
        await new Promise((r) => setTimeout(r, 4_600));
        // Past the original 4 s lease: nobody else may have it.
        rival = (await clientFor(app, "rival").pull({ max: 5 })).events;
        stop();
      },
      // (Four seconds: with three test files at once on two cores, an extension due at half the
      // lease has been seen a second late.)
      { leaseMs: 4_000, waitMs: 200 },
    );
    expect(rival).toEqual([]);
    // Acked under its first lease: it never ran out and came back.
    expect((await consumerJson(app, "events")).events[0]).toMatchObject({ state: "acked", attempt: 1 });
  });

  it("leases for the bridge's LEASE_MS unless told otherwise, and keeps a long handler leased for that length", async () => {
    const app = freshApp();
    await overrideTunables(app, { leaseMs: 4_000 });
    await ingestRobot(app, "m1");
    let lease = 0;
    let rival: BridgeEvent[] = [];
    await drainUntil(
      clientFor(app),
      async (e, stop) => {
        lease = e.leaseExpiresAt - e.receivedAt;
        await new Promise((r) => setTimeout(r, 4_600));
        rival = (await clientFor(app, "rival").pull({ max: 5 })).events;
        stop();
      },
      { waitMs: 200 },
    );
    expect(lease).toBeGreaterThanOrEqual(4_000);
    expect(lease).toBeLessThan(8_000);
    expect(rival).toEqual([]);
  });

  it("releases its own old leases when it starts", async () => {
    const app = freshApp();
    await ingestRobot(app, "m1");
    await clientFor(app, "gw-x").pull({ leaseMs: 600_000 });
    const got: number[] = [];
    await drainUntil(
      clientFor(app, "gw-x"),
      (e, stop) => {
        got.push(e.attempt);
        stop();
      },
      { waitMs: 200 },
    );
    expect(got).toEqual([2]);
  });

  it("stops on its signal, returning events it holds but has not started", async () => {
    const app = freshApp();
    for (let i = 0; i < 4; i++) await ingestRobot(app, `m${i}`);
    const stats = await drainUntil(clientFor(app), (_e, stop) => stop(), { max: 4 });
    expect(stats.acked).toBe(1);
    const status = await consumerJson(app, "status");
    expect(status).toMatchObject({ depth: 3, leased: 0, ready: 3 });
    // Never started, so never tried: stopping again and again cannot push them to the dead letters.
    const next = await clientFor(app, "gw-next").pull({ max: 4 });
    expect(next.events.map((e) => e.attempt)).toEqual([1, 1, 1]);
  });

  it("sends heartbeats with the Stream report and learns the mode", async () => {
    const app = freshApp();
    const health = new StreamHealth();
    health.connectedNow();
    health.messageReceived("msgFromStream");
    const modes: string[] = [];
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 300);
    await drain(clientFor(app), () => {}, { signal: stop.signal, waitMs: 100, streamHealth: health, onMode: (m) => modes.push(m) });
    const status = await consumerJson(app, "status");
    expect(status.consumers.list[0]).toMatchObject({ id: "gw" });
    expect(status.mode).toBe("stream");
    expect(modes).toContain("stream");
  });

  it("backs off and carries on through network failures", async () => {
    const app = freshApp();
    await ingestRobot(app, "m1");
    let failures = 0;
    // The real Worker behind a link that drops the first three pulls.
    const flaky = new BridgeClient({
      url: BASE,
      token: tokenFor(app),
      app,
      consumer: "gw",
      fetch: (input, init) => {
        if (String(input).endsWith("/pull") && failures < 3) {
          failures++;
          return Promise.reject(new TypeError("fetch failed"));
        }
        return SELF.fetch(input as string, init);
      },
    });
    const started = Date.now();
    const stats = await drainUntil(flaky, (_e, stop) => stop(), { waitMs: 200, onError: () => {} });
    expect(stats).toMatchObject({ networkErrors: 3, acked: 1 });
    // Three backoffs with jitter: at least 250 + 500 + 1000 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_750);
  });

  it("in stream mode pauses between safety polls, and wakes as soon as a heartbeat says webhook", async () => {
    const app = freshApp();
    const client = clientFor(app);
    await client.heartbeat({ connected: true, lastMessageAt: Date.now() });
    const got: number[] = [];
    let flippedAt = 0;
    const running = drainUntil(
      client,
      (_e, stop) => {
        got.push(Date.now() - flippedAt);
        stop();
      },
      { waitMs: 200, heartbeatMs: 300 },
    );
    await new Promise((r) => setTimeout(r, 400));
    expect((await consumerJson(app, "status")).mode).toBe("stream");
    // DingTalk flips to HTTP: the callback lands while the consumer sleeps out a 30 s hint.
    flippedAt = Date.now();
    await ingestRobot(app, "after-flip");
    await running;
    expect(got).toHaveLength(1);
    expect(got[0]).toBeLessThan(5_000);
  });

  it("throws typed errors", async () => {
    const app = freshApp();
    await expect(clientFor(app, "gw", "nope").status()).rejects.toBeInstanceOf(BridgeAuthError);
    await expect(clientFor("ghost").status()).rejects.toBeInstanceOf(BridgeAuthError);
    await expect(clientFor(app).ack([])).rejects.toBeInstanceOf(BridgeRequestError);
    await expect(drain(clientFor(app, "gw", "nope"), () => {})).rejects.toBeInstanceOf(BridgeAuthError);
  });

  it("stopping mid long poll leaves nothing leased to it, and stops at once", async () => {
    const app = freshApp();
    const stop = new AbortController();
    const started = Date.now();
    const running = drain(clientFor(app, "gw-stop"), () => {}, { signal: stop.signal, waitMs: 20_000 });
    await new Promise((r) => setTimeout(r, 200));
    stop.abort();
    await running;
    expect(Date.now() - started).toBeLessThan(3_000);
    await ingestRobot(app, "after-stop");
    const status = await consumerJson(app, "status");
    expect(status).toMatchObject({ ready: 1, leased: 0 });
  });

  it("defaults the consumer id to something of this machine's, never a shared constant", () => {
    const client = new BridgeClient({ url: BASE, token: "t" });
    expect(client.consumer).toMatch(/^gateway-[A-Za-z0-9._:@-]+$/);
    expect(client.consumer).not.toBe("gateway-default");
  });
});
