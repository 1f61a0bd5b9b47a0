// The operator console in a real headless browser against a local bridge holding its own Stream
// link to the fake DingTalk, with simulated traffic, two dead letters, refused callbacks, a
// malformed setting and a delivered alert: what the page shows is checked against GET status and
// the history routes. Replay, filters, the outbox and scopes: console-operations.test.ts.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { sampleRobotMessage } from "../../src/dingtalk/sample-messages";
import { startAlertSink } from "../harness/alert-sink";
import { cliEnv, LOCAL, runCli } from "../harness/cli";
import {
  ARTIFACTS,
  answerNextConfirm,
  attributes,
  type BridgeApi,
  type ConsolePage,
  type ConsoleRig,
  DESKTOP,
  describeInBrowser,
  expectNoSideways,
  fieldValue,
  PHONE,
  signIn,
  startConsoleRig,
  text,
  tileValue,
} from "../harness/console-browser";
import { ROOT } from "../harness/local-bridge";

// A payload the viewer must show byte for byte: a number past 2^53, an escape, key order that a
// parse would change ("2" before "a" in any JS object), and markup that must stay text.
const HOSTILE = `<img src=x onerror="document.title='pwned'">`;
const exotic = JSON.stringify(sampleRobotMessage({ msgtype: "text", msgId: "msg-console-exotic" }))
  .replace(/}$/, `,"big":12345678901234567890123,"esc":"caf\\u00e9","order":{"a":1,"2":2}}`)
  .replace(/"content":"[^"]*"/, `"content":${JSON.stringify(HOSTILE)}`);

describeInBrowser("the console", () => {
  let rig: ConsoleRig;
  let sink: Awaited<ReturnType<typeof startAlertSink>>;
  let api: BridgeApi;
  let desk: ConsolePage;
  let page: Page;

  beforeAll(async () => {
    sink = await startAlertSink();
    const vars = {
      MAX_ATTEMPTS: "1",
      ALERT_WEBHOOK_URL: `http://127.0.0.1:${sink.port}/alerts`,
      CALLBACK_REJECTIONS_ALERT: "2",
      BACKLOG_STALL_MS: "five minutes", // malformed: falls back to its default, and says so
    };
    rig = await startConsoleRig({ settings: { STREAM_LINK: "on" }, vars });
    api = rig.api;
    await api("status"); // wakes the link
    const sent = await runCli(["simulate", "--count", "12", "--concurrency", "4"], cliEnv(rig.bridge.url));
    expect(sent.code, sent.stderr).toBe(0);
    expect((await rig.callback(exotic)).status).toBe(200);
    // Two callbacks signed with a wrong secret: refused at the door, counted, and an incident.
    for (const i of [0, 1]) {
      expect((await rig.callback(JSON.stringify(sampleRobotMessage({}, 900 + i)), "a-rotated-secret")).status).toBe(401);
    }
    // One message over the bridge's own link.
    await until("the link", async () => (await api("status")).link.state === "open");
    rig.dingtalk.sendRobotMessage(sampleRobotMessage({ msgtype: "text", text: "over the link" }, 950), { clientId: LOCAL.clientId });
    await until("the link's message", async () => (await api("status")).counters.linkMessagesAccepted === 1);
    // A gateway gives up on the two oldest (with MAX_ATTEMPTS=1 both are dead letters), and holds a third.
    const pulled = await api("pull", { max: 2, consumer: "console-e2e" });
    await api("nack", { leaseIds: pulled.events.map((e: any) => e.leaseId), reason: "handler crashed (console test)" });
    await api("pull", { max: 1, consumer: "console-holder", leaseMs: 600_000 });
    // Quiet before the page opens: every alert has reached the sink.
    await until("the alerts", async () => {
      const s = await api("status");
      return s.alerts.length >= 2 && s.alerts.every((a: any) => a.delivery !== "pending");
    });
    desk = await rig.open(DESKTOP);
    page = desk.page;
  });

  afterAll(async () => {
    await rig?.close();
    await sink?.close();
  });

  it("is served with a strict CSP and the security headers, without a token", async () => {
    const res = await fetch(`${rig.bridge.url}/console`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy")!;
    for (const d of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "frame-ancestors 'none'",
      "require-trusted-types-for 'script'",
    ]) {
      expect(csp).toContain(d);
    }
    expect(csp).not.toContain("unsafe-inline");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    const js = await fetch(`${rig.bridge.url}/console/main.mjs`);
    expect([js.status, js.headers.get("content-type")]).toEqual([200, "text/javascript; charset=utf-8"]);
    expect((await fetch(`${rig.bridge.url}/console/nope.mjs`)).status).toBe(404);
    // Nothing in the page's code hands a string to an HTML parser (the CSP's Trusted Types enforce it too).
    const dir = join(ROOT, "console");
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".mjs"))) {
      expect(readFileSync(join(dir, f), "utf8"), f).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
    }
  });

  it("asks again when the token is refused, then shows the app as GET status does", async () => {
    await signIn(page, "not-the-token");
    await expect.poll(() => text(page, "#sign-in-error")).toContain("refused");
    expect(await page.evaluate(() => sessionStorage.getItem("dtbridge.console"))).not.toContain("not-the-token");

    await signIn(page, LOCAL.token);
    await page.waitForSelector("#routing .tile");
    const s = await api("status");
    expect(await tileValue(page, "mode")).toBe(s.mode);
    expect(await tileValue(page, "consumers")).toBe(s.consumers.state);
    expect(await tileValue(page, "depth")).toBe(String(s.depth));
    expect(await tileValue(page, "dead letters")).toBe(String(s.deadLetters));
    expect(s.deadLetters).toBe(2);
    expect(await attributes(page, "[data-scopes]", "data-scopes")).toEqual([s.token.scopes.join(" ")]);

    // Ordering: the app's rule and the conversations a gateway holds now.
    expect(await tileValue(page, "ordering")).toBe(s.ordering);
    expect(await tileValue(page, "keys held")).toBe(String(s.orderingKeysHeld));
    expect(s.orderingKeysHeld).toBe(1);

    // The transition timeline: every transition, newest first, with its reason.
    expect(s.transitions.length).toBeGreaterThan(0);
    const transitions = page.locator("#transitions > li");
    expect(await transitions.count()).toBe(s.transitions.length);
    expect(await transitions.first().innerText()).toContain(s.transitions[0].reason);

    // Open incidents, the new ones included, and the setting that fell back.
    expect(await attributes(page, "#incidents > li", "data-incident")).toEqual(s.incidents.map((i: any) => i.incident));
    expect(s.incidents.map((i: any) => i.incident)).toEqual(expect.arrayContaining(["callbacks_rejected", "config"]));
    expect(s.config.problems).toEqual([expect.objectContaining({ setting: "BACKLOG_STALL_MS" })]);
    expect(await text(page, "#config-problems")).toContain(s.config.problems[0].problem);

    // Alerts with their delivery state, in the order status lists them.
    const deliveries = await attributes(page, "#alert-list [data-delivery]", "data-delivery");
    expect(deliveries).toEqual(s.alerts.map((a: any) => a.delivery));
    expect(deliveries).toContain("sent");

    // Dead letters and history from their own routes, each event with its ordering key.
    expect(await page.locator("#dead-letter-list > li").count()).toBe(2);
    const history = await api("events?order=desc&limit=25");
    expect(await attributes(page, "#history-list > li", "data-seq")).toEqual(history.events.map((e: any) => String(e.seq)));
    expect(await attributes(page, "#history-list > li", "data-ordering-key")).toEqual(history.events.map((e: any) => e.orderingKey));
    expect(history.events.every((e: any) => e.orderingKey)).toBe(true);

    // Markup in a payload stays text.
    expect(await page.locator("#history-list > li", { hasText: HOSTILE }).count()).toBe(1);
    expect(await page.locator("#history-list img").count()).toBe(0);
    expect(await page.title()).not.toBe("pwned");
  });

  it("tells the bridge's own Stream link from a gateway's, and names each path's counters", async () => {
    let s = await api("status");
    const c = s.counters;
    expect(await tileValue(page, "link")).toBe(s.link.state);
    expect(s.link.state).toBe("open");
    expect(await fieldValue(page, "link opens")).toBe(`${s.link.opens.length} in the last hour`);
    expect(await fieldValue(page, "link counted opens")).toContain(`${s.link.countedOpens.length} in the last hour`);
    // The link makes Stream "connected" for the mode machine; no gateway holds one, and the page says so.
    expect(s.stream.connected).toBe(true);
    expect(await tileValue(page, "gateway's Stream")).toBe("none reported");
    expect(await fieldValue(page, "gateway stream")).toBe("no gateway reports one");

    expect(await fieldValue(page, "callbacksAccepted")).toMatch(new RegExp(`^${c.callbacksAccepted} accepted`));
    expect(await fieldValue(page, "linkMessagesAccepted")).toMatch(/^1 accepted/);
    expect(c.callbacksAccepted).toBe(13);
    expect(c.rejected).toEqual({ bad_signature: 2 });
    expect(await attributes(page, "#rejected [data-code]", "data-code")).toEqual(Object.keys(c.rejected));
    expect(await text(page, "#rejected")).toContain("bad_signature 2");
    expect(await fieldValue(page, "signReused")).toBe(`${c.signReused} kept aside, ${c.signReuseRefused} refused`);
    expect(await fieldValue(page, "deadLettersDropped")).toBe(String(c.deadLettersDropped));
    expect(await fieldValue(page, "resentAfterCrash")).toBe(String(s.outbox.resentAfterCrash));
    const quota = s.dingtalkApi;
    expect(await fieldValue(page, "dingtalkApi")).toContain(`${quota.thisMonth} of ${quota.monthlyQuota} in ${quota.month}`);

    // A gateway reports its own Stream: now, and only now, the page says one is connected.
    await api("heartbeat", { consumer: "gateway-with-stream", stream: { connected: true } });
    await page.click("#refresh");
    await expect.poll(() => tileValue(page, "gateway's Stream")).toBe("connected");
    expect(await fieldValue(page, "gateway stream")).toBe("connected: 1 of 1 gateway up");
    s = await api("status");
    expect(await tileValue(page, "link")).toBe(s.link.state);
  });

  it("opens a payload as the exact JSON that was sent, pretty-printed", async () => {
    const row = page.locator("#history-list > li", { hasText: HOSTILE });
    await row.getByRole("button", { name: "Payload" }).click();
    const shown = await page.locator("#payload pre").innerText();
    // Byte-faithful: the big number and the escape as sent, "a" still before "2".
    expect(shown).toContain(`"big": 12345678901234567890123`);
    expect(shown).toContain(`"esc": "caf\\u00e9"`);
    expect(shown).toContain(`"order": {\n    "a": 1,\n    "2": 2\n  }`);
    expect(JSON.parse(shown)).toEqual(JSON.parse(exotic));
    expect(shown.split("\n").length).toBeGreaterThan(20);
    expect(await fieldValue(page, "ordering key")).toBe(JSON.parse(exotic).conversationId);
    await page.screenshot({ path: join(ARTIFACTS, "payload.png") });
    await page.locator("#payload [data-close]").click();
    expect(await page.locator("#payload").isVisible()).toBe(false);
  });

  it("redrives one dead letter after asking, and does nothing when the answer is no", async () => {
    let asked = answerNextConfirm(page, false);
    await page.locator("[data-action=purge-all]").click();
    expect(await asked).toContain("Delete all 2 dead letters");
    expect((await api("status")).deadLetters).toBe(2);

    await page.locator("#dead-letter-list > li").first().locator("input[type=checkbox]").check();
    asked = answerNextConfirm(page, true);
    await page.locator("[data-action=redrive-selected]").click();
    expect(await asked).toBe("Redrive 1 dead letter back into the queue?");
    await expect.poll(() => tileValue(page, "dead letters")).toBe("1");
    const s = await api("status");
    expect(s.deadLetters).toBe(1);
    expect(await tileValue(page, "depth")).toBe(String(s.depth));
    expect(await text(page, "#dead-letters-note")).toContain("Redrove 1");
    expect(await page.locator("#dead-letter-list > li").count()).toBe(1);

    // More traffic, so the depth line has a shape in the screenshot.
    expect((await runCli(["simulate", "--count", "6"], cliEnv(rig.bridge.url))).code).toBe(0);
    await page.click("#refresh");
    await expect.poll(async () => tileValue(page, "depth")).toBe(String((await api("status")).depth));
    await page.screenshot({ path: join(ARTIFACTS, "desktop.png"), fullPage: true });
  });

  it("keeps the last data with a banner while the bridge cannot be reached", async () => {
    await page.route("**/v1/**", (route) => route.abort("connectionrefused"));
    await page.click("#refresh");
    await expect.poll(() => page.locator("#banner").isVisible()).toBe(true);
    expect(await text(page, "#banner")).toContain("did not answer");
    expect(await tileValue(page, "dead letters")).toBe("1");
    await page.unroute("**/v1/**");
    await page.click("#refresh");
    await expect.poll(() => page.locator("#banner").isVisible()).toBe(false);
  });

  it("keeps the token in session storage only: never a cookie, never a URL", async () => {
    const stored = await page.evaluate(() => sessionStorage.getItem("dtbridge.console"));
    expect(JSON.parse(stored!)).toEqual({ app: "default", token: LOCAL.token });
    expect(await page.evaluate(() => document.cookie)).toBe("");
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(page.url()).toBe(`${rig.bridge.url}/console`);
    expect((await page.context().cookies()).length).toBe(0);
    const calls = desk.requests.filter((r) => r.url.includes("/v1/"));
    expect(calls.length).toBeGreaterThan(3);
    for (const r of desk.requests) expect(r.url).not.toContain(LOCAL.token);
    for (const r of calls) expect(r.auth === `Bearer ${LOCAL.token}` || r.auth === "Bearer not-the-token").toBe(true);

    await page.click("#sign-out");
    expect(await page.locator("#sign-in").isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem("dtbridge.console"))).not.toContain(LOCAL.token);
    expect(await page.locator("#board").isVisible()).toBe(false);
    // The refused sign-in and the cut connection logged failed loads; nothing else went wrong.
    expect(desk.problems.filter((p) => !/status of 401|ERR_CONNECTION_REFUSED/.test(p))).toEqual([]);
    await desk.close();
  });

  it("fits a 390 px phone without horizontal scrolling, refreshes on its own, and pauses while hidden", async () => {
    const phone = await rig.signedIn(LOCAL.token, PHONE, "#history-list > li");
    let s = await api("status");
    expect(await tileValue(phone.page, "dead letters")).toBe(String(s.deadLetters));

    // New traffic shows up with no click: the page polls every 5 s.
    expect((await runCli(["simulate", "--count", "3"], cliEnv(rig.bridge.url))).code).toBe(0);
    s = await api("status");
    await expect.poll(() => tileValue(phone.page, "depth"), { timeout: 8_000 }).toBe(String(s.depth));

    // A hidden tab asks nothing; shown again, it refreshes at once.
    const polls = () => phone.requests.filter((r) => r.url.endsWith("/status")).length;
    await setHidden(phone.page, true);
    await sleep(300); // a round already under way when hidden lands first
    const before = polls();
    await sleep(5_500);
    expect(polls()).toBe(before);
    await setHidden(phone.page, false);
    await expect.poll(polls, { timeout: 2_000 }).toBe(before + 1);

    await expectNoSideways(phone.page);
    await phone.page.screenshot({ path: join(ARTIFACTS, "phone.png"), fullPage: true });
    expect(phone.problems).toEqual([]);
    await phone.close();
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function setHidden(page: Page, hidden: boolean) {
  return page.evaluate((h) => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => h });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
}
