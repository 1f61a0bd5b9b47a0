// The operator console in a real headless browser (Debian's Chromium driven by playwright-core)
// against a local bridge with simulated traffic, two dead letters and a delivered alert: what the
// page shows is checked against GET status, and screenshots are kept in artifacts/console/.
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { robotSign } from "../../src/dingtalk/robot-sign";
import { sampleRobotMessage } from "../../src/dingtalk/sample-messages";
import { startAlertSink } from "../harness/alert-sink";
import { cliEnv, LOCAL, runCli } from "../harness/cli";
import { type LocalBridge, ROOT, startBridge } from "../harness/local-bridge";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, "artifacts/console");
const ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let bridge: LocalBridge;
let sink: Awaited<ReturnType<typeof startAlertSink>>;
let browser: Browser;

const api = async (path: string, body?: unknown) => {
  const res = await fetch(`${bridge.url}/v1/default/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${LOCAL.token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as any;
};

/** A signed robot callback whose body is exactly `raw`. */
async function callback(raw: string) {
  const ts = String(Date.now());
  const res = await fetch(`${bridge.url}/dingtalk/default/robot`, {
    method: "POST",
    headers: { "content-type": "application/json", timestamp: ts, sign: await robotSign(LOCAL.secret, ts) },
    body: raw,
  });
  expect(res.status).toBe(200);
}

// A payload the viewer must show byte for byte: a number past 2^53, an escape, key order that a
// parse would change ("2" before "a" in any JS object), and markup that must stay text.
const HOSTILE = `<img src=x onerror="document.title='pwned'">`;
const exotic = JSON.stringify(sampleRobotMessage({ msgtype: "text", msgId: "msg-console-exotic" }))
  .replace(/}$/, `,"big":12345678901234567890123,"esc":"caf\\u00e9","order":{"a":1,"2":2}}`)
  .replace(/"content":"[^"]*"/, `"content":${JSON.stringify(HOSTILE)}`);

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: the console's browser test needs Debian's chromium; run \`apt-get install -y chromium\` (.ci/run does)`,
    );
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  sink = await startAlertSink();
  [bridge, browser] = await Promise.all([
    startBridge({ vars: { MAX_ATTEMPTS: "1", ALERT_WEBHOOK_URL: `http://127.0.0.1:${sink.port}/alerts` } }),
    chromium.launch({ executablePath: CHROMIUM, args: ARGS }),
  ]);
  const sent = await runCli(["simulate", "--count", "12", "--concurrency", "4"], cliEnv(bridge.url));
  expect(sent.code, sent.stderr).toBe(0);
  await callback(exotic);
  // A gateway takes the two oldest and gives up on them: with MAX_ATTEMPTS=1 both are dead letters.
  const pulled = await api("pull", { max: 2, consumer: "console-e2e" });
  await api("nack", { leaseIds: pulled.events.map((e: any) => e.leaseId), reason: "handler crashed (console test)" });
  // Quiet before the page opens: both consumer alerts (open, resolved) have reached the sink.
  const deadline = Date.now() + 15_000;
  for (;;) {
    const s = await api("status");
    if (s.alerts.length >= 1 && s.alerts.every((a: any) => a.delivery !== "pending")) break;
    if (Date.now() > deadline) throw new Error(`alerts still pending: ${JSON.stringify(s.alerts)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

afterAll(async () => {
  await browser?.close();
  await bridge?.stop();
  await sink?.close();
});

async function openConsole(viewport: { width: number; height: number }) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  const requests: { url: string; auth: string | undefined }[] = [];
  page.on("request", (r) => requests.push({ url: r.url(), auth: r.headers().authorization }));
  await page.goto(`${bridge.url}/console`);
  return { context, page, problems, requests };
}

async function signIn(page: Page, token: string) {
  await page.fill("#sign-in input[name=app]", "default");
  await page.fill("#sign-in input[name=token]", token);
  await page.click("#sign-in button");
}

const text = (page: Page, selector: string) => page.locator(selector).innerText();
const field = (page: Page, name: string) => text(page, `[data-field="${name}"] > b`);

describe("the console", () => {
  let context: BrowserContext;
  let page: Page;
  let problems: string[];
  let requests: { url: string; auth: string | undefined }[];

  it("is served with a strict CSP and the security headers, without a token", async () => {
    const res = await fetch(`${bridge.url}/console`);
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
    const js = await fetch(`${bridge.url}/console/main.mjs`);
    expect([js.status, js.headers.get("content-type")]).toEqual([200, "text/javascript; charset=utf-8"]);
    expect((await fetch(`${bridge.url}/console/nope.mjs`)).status).toBe(404);
    // Nothing in the page's code hands a string to an HTML parser (the CSP's Trusted Types enforce it too).
    const dir = join(ROOT, "console");
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".mjs"))) {
      expect(readFileSync(join(dir, f), "utf8"), f).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
    }
  });

  it("asks again when the token is refused, then shows the app as GET status does", async () => {
    ({ context, page, problems, requests } = await openConsole({ width: 1280, height: 900 }));
    await signIn(page, "not-the-token");
    await expect.poll(() => text(page, "#sign-in-error")).toContain("refused");
    expect(await page.evaluate(() => sessionStorage.getItem("dtbridge.console"))).not.toContain("not-the-token");

    await signIn(page, LOCAL.token);
    await page.waitForSelector("#routing .tile");
    const s = await api("status");
    expect(await field(page, "mode")).toBe(s.mode);
    expect(await field(page, "link")).toBe(s.link.state);
    expect(await field(page, "consumers")).toBe(s.consumers.state);
    expect(await field(page, "depth")).toBe(String(s.depth));
    expect(await field(page, "dead letters")).toBe(String(s.deadLetters));
    expect(s.deadLetters).toBe(2);

    // The transition timeline: every transition, newest first, with its reason.
    expect(s.transitions.length).toBeGreaterThan(0);
    const transitions = page.locator("#transitions > li");
    expect(await transitions.count()).toBe(s.transitions.length + s.link.opens.length);
    expect(await transitions.first().innerText()).toContain(s.transitions[0].reason);

    // Alerts with their delivery state, in the order status lists them.
    const deliveries = await page
      .locator("#alert-list [data-delivery]")
      .evaluateAll((els) => els.map((e) => e.getAttribute("data-delivery")));
    expect(deliveries).toEqual(s.alerts.map((a: any) => a.delivery));
    expect(deliveries).toContain("sent");

    // Dead letters and recent history, from their own routes.
    expect(await page.locator("#dead-letter-list > li").count()).toBe(2);
    const history = await api("events?order=desc&limit=25");
    const seqs = await page.locator("#history-list > li").evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-seq"))));
    expect(seqs).toEqual(history.events.map((e: any) => e.seq));

    // Markup in a payload stays text.
    const row = page.locator("#history-list > li", { hasText: HOSTILE });
    expect(await row.count()).toBe(1);
    expect(await page.locator("#history-list img").count()).toBe(0);
    expect(await page.title()).not.toBe("pwned");
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
    await page.screenshot({ path: join(ARTIFACTS, "payload.png") });
    await page.locator("#payload [data-close]").click();
    expect(await page.locator("#payload").isVisible()).toBe(false);
  });

  it("redrives one dead letter after asking, and does nothing when the answer is no", async () => {
    const dialogs: string[] = [];
    page.once("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.locator("[data-action=purge-all]").click();
    await expect.poll(() => dialogs.length).toBe(1);
    expect(dialogs[0]).toContain("Delete all 2 dead letters");
    expect((await api("status")).deadLetters).toBe(2);

    await page.locator("#dead-letter-list > li").first().locator("input[type=checkbox]").check();
    page.once("dialog", (d) => {
      dialogs.push(d.message());
      void d.accept();
    });
    await page.locator("[data-action=redrive-selected]").click();
    await expect.poll(() => field(page, "dead letters")).toBe("1");
    expect(dialogs[1]).toBe("Redrive 1 dead letter back into the queue?");
    const s = await api("status");
    expect(s.deadLetters).toBe(1);
    expect(await field(page, "depth")).toBe(String(s.depth));
    expect(await text(page, "#dead-letters-note")).toContain("Redrove 1");
    expect(await page.locator("#dead-letter-list > li").count()).toBe(1);

    // More traffic, so the depth line has a shape in the screenshot.
    expect((await runCli(["simulate", "--count", "6"], cliEnv(bridge.url))).code).toBe(0);
    await page.click("#refresh");
    await expect.poll(() => field(page, "depth")).toBe(String((await api("status")).depth));
    await page.screenshot({ path: join(ARTIFACTS, "desktop.png"), fullPage: true });
  });

  it("keeps the last data with a banner while the bridge cannot be reached", async () => {
    await page.route("**/v1/**", (route) => route.abort("connectionrefused"));
    await page.click("#refresh");
    await expect.poll(() => page.locator("#banner").isVisible()).toBe(true);
    expect(await text(page, "#banner")).toContain("did not answer");
    expect(await field(page, "dead letters")).toBe("1");
    await page.unroute("**/v1/**");
    await page.click("#refresh");
    await expect.poll(() => page.locator("#banner").isVisible()).toBe(false);
  });

  it("keeps the token in session storage only: never a cookie, never a URL", async () => {
    const stored = await page.evaluate(() => sessionStorage.getItem("dtbridge.console"));
    expect(JSON.parse(stored!)).toEqual({ app: "default", token: LOCAL.token });
    expect(await page.evaluate(() => document.cookie)).toBe("");
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(page.url()).toBe(`${bridge.url}/console`);
    expect((await context.cookies()).length).toBe(0);
    const api = requests.filter((r) => r.url.includes("/v1/"));
    expect(api.length).toBeGreaterThan(3);
    for (const r of requests) expect(r.url).not.toContain(LOCAL.token);
    for (const r of api) expect(r.auth === `Bearer ${LOCAL.token}` || r.auth === "Bearer not-the-token").toBe(true);

    await page.click("#sign-out");
    expect(await page.locator("#sign-in").isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem("dtbridge.console"))).not.toContain(LOCAL.token);
    expect(await page.locator("#board").isVisible()).toBe(false);
    // The refused sign-in and the cut connection logged failed loads; nothing else went wrong.
    expect(problems.filter((p) => !/status of 401|ERR_CONNECTION_REFUSED/.test(p))).toEqual([]);
    await context.close();
  });

  it("fits a 390 px phone without horizontal scrolling, refreshes on its own, and pauses while hidden", async () => {
    const phone = await openConsole({ width: 390, height: 844 });
    await signIn(phone.page, LOCAL.token);
    await phone.page.waitForSelector("#history-list > li");
    let s = await api("status");
    expect(await field(phone.page, "dead letters")).toBe(String(s.deadLetters));

    // New traffic shows up with no click: the page polls every 5 s.
    expect((await runCli(["simulate", "--count", "3"], cliEnv(bridge.url))).code).toBe(0);
    s = await api("status");
    await expect.poll(() => field(phone.page, "depth"), { timeout: 8_000 }).toBe(String(s.depth));

    // A hidden tab asks nothing; shown again, it refreshes at once.
    const polls = () => phone.requests.filter((r) => r.url.endsWith("/status")).length;
    await phone.page.evaluate(() => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
      document.dispatchEvent(new Event("visibilitychange"));
    });
    await new Promise((r) => setTimeout(r, 300)); // a round already under way when hidden lands first
    const before = polls();
    await new Promise((r) => setTimeout(r, 5_500));
    expect(polls()).toBe(before);
    await phone.page.evaluate(() => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
      document.dispatchEvent(new Event("visibilitychange"));
    });
    await expect.poll(polls, { timeout: 2_000 }).toBe(before + 1);

    const [scrollWidth, clientWidth] = await phone.page.evaluate(() => [
      document.documentElement.scrollWidth,
      document.documentElement.clientWidth,
    ]);
    expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
    await phone.page.screenshot({ path: join(ARTIFACTS, "phone.png"), fullPage: true });
    expect(phone.problems).toEqual([]);
    await phone.context.close();
  });
});
