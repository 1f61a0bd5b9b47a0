// The link's budget and incidents against the fake DingTalk: a storm of closes cannot make it open
// more than 3 connections in 10 minutes, refused credentials stop it politely, and its own opens
// and silence raise the stuck-routing suspicion with the URL to paste.
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { linkCredentials } from "../harness/test-env";
import { claimLinkApp } from "../harness/workerd/apps";
import { consumerJson, postRobot, robotMessage } from "../harness/workerd/dingtalk";
import { fake, fakeView, refuseNextAsNotAllowlisted, sendOverStream, until } from "../harness/workerd/fake";
import { overrideTunables, restartObject } from "../harness/workerd/inbox";

// This file's apps at the shared fake DingTalk: l10-l19.
const link = (app: string) => env.LINKS.getByName(app);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the Stream link's budget", () => {
  it("a storm of closes gets at most 3 opens in 10 minutes, then the link waits and alerts", async () => {
    const app = await claimLinkApp();
    const { clientId } = linkCredentials(app);
    await link(app).ensure();
    const stormEnd = Date.now() + 8_000;
    while (Date.now() < stormEnd) {
      const v = await fakeView(app);
      if (v.live.length) await fake("close-all", { clientId });
      await sleep(100);
    }
    // The first open after the object started is not a reconnect of its own: three more are.
    const view = await fakeView(app);
    expect(view.opens).toHaveLength(4);
    const s = await consumerJson(app, "status");
    expect(s.link.countedOpens).toHaveLength(3);
    expect(s.link.state).toBe("backoff");
    expect(s.link.retryAt).toBeGreaterThan(Date.now() + 9 * 60_000 - 8_000);
    expect(s.incidents.map((i: any) => i.incident)).toContain("stream_link");
    expect(s.alerts.find((a: any) => a.incident === "stream_link")).toMatchObject({
      phase: "open",
      title: expect.stringMatching(/reconnect budget/),
    });

    // The budget is in SQLite: a restart of the link object (a deploy) does not reset it. Its first
    // open spends none of it, and the budget still stands after.
    await restartObject(link(app));
    await link(app).ensure();
    await runDurableObjectAlarm(link(app));
    expect((await fakeView(app)).opens).toHaveLength(5);
    expect((await consumerJson(app, "status")).link.countedOpens).toHaveLength(3);
    await fake("close-all", { clientId });
    await sleep(300);
    await runDurableObjectAlarm(link(app));
    expect((await fakeView(app)).opens).toHaveLength(5);
  });

  it("DingTalk's own disconnects spend none of the budget: five changeovers in a row each open at once", async () => {
    const app = await claimLinkApp();
    await link(app).ensure();
    for (let i = 1; i <= 5; i++) {
      // DingTalk sends its disconnect to one connection: the one it routes to now.
      const v = await until(
        "the newest connection open",
        () => fakeView(app),
        (v) => v.live.length === 1 && v.live[0].state === "open",
      );
      await fake("disconnect", { connectionId: v.live[0].id, reason: "connection is expired" });
      await until(
        `changeover ${i}`,
        () => fakeView(app),
        (v) => v.opens.length === i + 1,
      );
    }
    const s = await consumerJson(app, "status");
    expect(s.link).toMatchObject({ state: "open", countedOpens: [] });
    expect(s.link.opens).toHaveLength(6);
    expect(s.incidents.map((i: any) => i.incident)).not.toContain("stream_link");
  });

  it("an IP allowlist refusal: state refused, an alert saying what to do, no socket", async () => {
    const app = await claimLinkApp();
    await refuseNextAsNotAllowlisted("open", linkCredentials(app).clientId);
    const status = await link(app).ensure();
    expect(status).toMatchObject({ state: "refused", lastError: expect.stringContaining("服务器出口IP") });
    expect(status.retryAt).toBeGreaterThan(Date.now() + 9 * 60_000);
    const s = await consumerJson(app, "status");
    expect(s.alerts.find((a: any) => a.incident === "stream_link").title).toMatch(/refused the Stream link from this server's IP/);
    expect((await fakeView(app)).connections).toHaveLength(0);
  });

  it("a redirect from connections/open is a link error: no socket is opened and the target sees nothing", async () => {
    const app = await claimLinkApp();
    const { clientId } = linkCredentials(app);
    const target = `${inject("fakeDingTalkUrl")}/redirect-target`;
    await fake("fail-next", { route: "open", count: 1, status: 302, location: target, clientId });
    const before = (await fake("state")).redirectHits.length;
    const status = await link(app).ensure();
    expect(status).toMatchObject({ state: "backoff", lastError: expect.stringContaining("never follows") });
    expect((await fake("state")).redirectHits.length).toBe(before);
    expect((await fakeView(app)).connections).toHaveLength(0);
  });

  it("refused credentials: state refused, an alert naming the settings, a retry in 10 minutes", async () => {
    const app = "lrefused";
    const refusals = async () => (await fake("state")).refusedOpenClients.filter((c: string) => c === "link-client-unknown").length;
    const before = await refusals();
    const status = await link(app).ensure();
    expect(status.state).toBe("refused");
    expect(status.retryAt).toBeGreaterThan(Date.now() + 9 * 60_000);
    const s = await consumerJson(app, "status");
    const alert = s.alerts.find((a: any) => a.incident === "stream_link");
    expect(alert.title).toMatch(/refused the app's credentials/);
    expect(JSON.stringify(s)).not.toContain("wrong");
    expect(await refusals()).toBe(before + 1);
    // Asked again at once, it does not hammer DingTalk.
    await link(app).ensure();
    expect(await refusals()).toBe(before + 1);
    expect((await fake("state")).opens.filter((o: any) => o.clientId === "link-client-unknown")).toHaveLength(0);
  });

  it("a refresh that must wait for the budget leaves a live link connected, with no incident", async () => {
    const app = await claimLinkApp();
    await link(app).ensure();
    await until(
      "open",
      () => fakeView(app),
      (v) => v.live.length === 1,
    );
    await runInDurableObject(link(app), (l) => {
      l.timing.refreshAfterMs = 100;
      l.timing.drainGraceMs = 100;
    });
    // The first open spends nothing; three refreshes spend the budget; the fourth must wait beside the live socket.
    for (let i = 0; i < 5; i++) {
      await sleep(250);
      await runDurableObjectAlarm(link(app));
    }
    expect((await fakeView(app)).opens).toHaveLength(4);
    const s = await consumerJson(app, "status");
    expect(s.link.state).toBe("open");
    expect(s.incidents.map((i: any) => i.incident)).not.toContain("stream_link");
    expect(s.transitions.filter((t: any) => t.subject === "link").map((t: any) => t.to)).not.toContain("backoff");
  });

  it("replaces an old connection make before break on refresh, never holding more than two", async () => {
    const app = await claimLinkApp();
    await link(app).ensure();
    const first = (
      await until(
        "open",
        () => fakeView(app),
        (v) => v.live.length === 1,
      )
    ).live[0];
    await runInDurableObject(link(app), (l) => {
      l.timing.refreshAfterMs = 100;
      l.timing.drainGraceMs = 300;
    });
    await sleep(150);
    await runDurableObjectAlarm(link(app));
    const both = await fakeView(app);
    expect(both.live).toHaveLength(2);
    await runInDurableObject(link(app), (l) => {
      l.timing.refreshAfterMs = 3_600_000;
    });
    await sleep(400);
    await runDurableObjectAlarm(link(app));
    const after = await until(
      "the old one closed",
      () => fakeView(app),
      (v) => v.live.length === 1,
    );
    expect(after.live[0].id).not.toBe(first.id);
    await sendOverStream(app, robotMessage({ text: "after refresh" }));
    await until(
      "delivered",
      async () => (await consumerJson(app, "events")).events,
      (e: any[]) => e.length === 1,
    );
  });
});

describe("stuck routing, first hand", () => {
  it("the link's own reconnects and silence raise the suspicion with the robot URL spelled out; a message clears it", async () => {
    const app = await claimLinkApp();
    const { clientId, clientSecret } = linkCredentials(app);
    await overrideTunables(app, { stallRestarts: 3, stallWindowMs: 60_000, stallSilenceMs: 1_500 });
    await consumerJson(app, "pull", { waitMs: 0 }); // the bridge learns its own URL from a request
    await link(app).ensure();
    await until(
      "open",
      () => fakeView(app),
      (v) => v.live.length === 1,
    );
    await sendOverStream(app, robotMessage({ text: "before the storm" }));
    await until(
      "mode stream",
      () => consumerJson(app, "status"),
      (s) => s.mode === "stream",
    );
    for (let i = 0; i < 2; i++) {
      await fake("drop", { clientId });
      await until(
        "reconnected",
        () => fakeView(app),
        (v) => v.live.length === 1 && v.opens.length === i + 2,
      );
    }
    const s = await until(
      "suspected stuck",
      () => consumerJson(app, "status"),
      (x) => x.routing === "suspected_stuck",
      8_000,
    );
    const alert = s.alerts.find((a: any) => a.incident === "stuck_routing");
    expect(alert.title).toBe("Suspected stuck DingTalk Stream routing");
    const text = (await runInDurableObject(
      env.INBOX.getByName(app),
      (_i, st) => st.storage.sql.exec<{ text: string }>("SELECT text FROM alerts WHERE incident = 'stuck_routing'").one().text,
    )) as string;
    expect(text).toContain(`https://bridge.test/dingtalk/${app}/robot`);
    expect((await postRobot(app, robotMessage(), { secret: clientSecret })).status).toBe(200);
    expect((await consumerJson(app, "status")).routing).toBe("ok");
  });
});
