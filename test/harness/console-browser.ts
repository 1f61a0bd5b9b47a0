// The console's browser tests' side: Chromium (CHROMIUM_PATH, default Debian's /usr/bin/chromium)
// driven by playwright-core, a page per viewport with what went wrong in it, the fake DingTalk and
// local bridge the pages talk to, and the bridge's own answers to check the page against. Where no
// browser exists the tests skip with a notice, unless REQUIRE_BROWSER=1 (CI), where a missing
// browser fails.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { robotSign } from "../../src/dingtalk/robot-sign";
import { LOCAL } from "./cli";
import { type FakeDingTalk, startFakeDingTalk } from "./fake-dingtalk/index.ts";
import { type LocalBridge, ROOT, startBridge } from "./local-bridge";

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const ARTIFACTS = join(ROOT, "artifacts/console");
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

const INSTALL = "Install Debian's chromium (apt-get install chromium) or point CHROMIUM_PATH at one";

/** `describe` for tests that need the browser: skipped with a notice without one, failed with REQUIRE_BROWSER=1. */
export function describeInBrowser(name: string, body: () => void): void {
  if (existsSync(CHROMIUM)) {
    describe(name, body);
  } else if (process.env.REQUIRE_BROWSER === "1") {
    describe(name, () => {
      it("has a browser to run in (REQUIRE_BROWSER=1)", () => {
        throw new Error(`No Chromium at ${CHROMIUM}, and REQUIRE_BROWSER=1 says the console's browser tests must run. ${INSTALL}.`);
      });
    });
  } else {
    process.stderr.write(
      `\nNo Chromium at ${CHROMIUM}: the console's browser tests are SKIPPED. ${INSTALL}; CI sets REQUIRE_BROWSER=1, where this fails.\n\n`,
    );
    describe.skip(name, body);
  }
}

export function launchBrowser(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

export type Viewport = { width: number; height: number };
export const DESKTOP: Viewport = { width: 1280, height: 900 };
export const PHONE: Viewport = { width: 390, height: 844 };

export interface ConsolePage {
  page: Page;
  close(): Promise<void>;
  /** Script errors and console errors seen so far. */
  problems: string[];
  requests: { url: string; auth: string | undefined }[];
}

export async function openConsole(browser: Browser, url: string, viewport: Viewport): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  const requests: { url: string; auth: string | undefined }[] = [];
  page.on("request", (r) => requests.push({ url: r.url(), auth: r.headers().authorization }));
  await page.goto(`${url}/console`);
  return { page, problems, requests, close: () => context.close() };
}

export async function signIn(page: Page, token: string, app = "default"): Promise<void> {
  await page.fill("#sign-in input[name=app]", app);
  await page.fill("#sign-in input[name=token]", token);
  await page.click("#sign-in button");
}

export const text = (page: Page, selector: string) => page.locator(selector).innerText();
/** A tile's value, by its label. */
export const tileValue = (page: Page, label: string) => text(page, `[data-field="${label}"] > b`);
/** A <dd>'s text, by its data-field name. */
export const fieldValue = (page: Page, name: string) => text(page, `dd[data-field="${name}"]`);
/** The values of one attribute across the elements a selector finds, in page order. */
export const attributes = (page: Page, selector: string, name: string) =>
  page.locator(selector).evaluateAll((els, n) => els.map((e) => e.getAttribute(n)), name);

/** Answers the next confirm() with yes or no, and resolves to its question. */
export function answerNextConfirm(page: Page, yes: boolean): Promise<string> {
  return new Promise((resolve) => {
    page.once("dialog", (d) => {
      resolve(d.message());
      void (yes ? d.accept() : d.dismiss());
    });
  });
}

/** The page fits its width: nothing scrolls sideways. */
export async function expectNoSideways(page: Page): Promise<void> {
  const [scrollWidth, clientWidth] = await page.evaluate(() => [
    document.documentElement.scrollWidth,
    document.documentElement.clientWidth,
  ]);
  expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
}

export type BridgeApi = ReturnType<typeof bridgeApi>;

/** The consumer API as the test sees it, with a token of its choice; throws on anything but 200. */
export function bridgeApi(url: string, token: string) {
  return async (path: string, body?: unknown): Promise<any> => {
    const res = await fetch(`${url}/v1/default/${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
}

/** What a console test runs against: the fake DingTalk, a local bridge that calls it, and Chromium. */
export interface ConsoleRig {
  dingtalk: FakeDingTalk;
  bridge: LocalBridge;
  browser: Browser;
  /** The consumer API with the local admin token. */
  api: BridgeApi;
  /** A robot callback whose body is exactly `raw`, signed with `secret` (the local app's by default). */
  callback(raw: string, secret?: string): Promise<Response>;
  /** A new console page, not signed in. */
  open(viewport: Viewport): Promise<ConsolePage>;
  /** A new console page signed in with `token`, once the `ready` selector finds something on it. */
  signedIn(token: string, viewport: Viewport, ready: string): Promise<ConsolePage>;
  close(): Promise<void>;
}

/**
 * Starts the fake DingTalk for the local app, then a bridge and Chromium together. The bridge's env
 * file is config/local.env pointed at the fake DingTalk, with `settings` in place of its own lines
 * of the same names; `vars` go to startBridge.
 */
export async function startConsoleRig(
  options: { settings?: Record<string, string>; vars?: Record<string, string> } = {},
): Promise<ConsoleRig> {
  const dingtalk = await startFakeDingTalk({
    apps: [{ clientId: LOCAL.clientId, clientSecret: LOCAL.secret }],
    pingIntervalMs: 0,
    redeliverAfterMs: 0,
  });
  const settings = { DINGTALK_API_BASE: dingtalk.url, ...options.settings };
  const local = readFileSync(join(ROOT, "config/local.env"), "utf8")
    .split("\n")
    .filter((line) => !(line.split("=")[0]! in settings));
  const envFile = join(mkdtempSync(join(tmpdir(), "dtbridge-console-")), "console.env");
  writeFileSync(envFile, [...local, ...Object.entries(settings).map(([k, v]) => `${k}=${v}`), ""].join("\n"));
  try {
    const [bridge, browser] = await Promise.all([startBridge({ envFile, vars: options.vars }), launchBrowser()]);
    const open = (viewport: Viewport) => openConsole(browser, bridge.url, viewport);
    return {
      dingtalk,
      bridge,
      browser,
      api: bridgeApi(bridge.url, LOCAL.token),
      async callback(raw, secret = LOCAL.secret) {
        const timestamp = String(Date.now());
        return fetch(`${bridge.url}/dingtalk/default/robot`, {
          method: "POST",
          headers: { "content-type": "application/json", timestamp, sign: await robotSign(secret, timestamp) },
          body: raw,
        });
      },
      open,
      async signedIn(token, viewport, ready) {
        const opened = await open(viewport);
        await signIn(opened.page, token);
        await opened.page.waitForSelector(ready);
        return opened;
      },
      async close() {
        await browser.close();
        await bridge.stop();
        await dingtalk.close();
      },
    };
  } catch (error) {
    await dingtalk.close();
    throw error;
  }
}
