// The console's browser tests' side: Chromium (CHROMIUM_PATH, default Debian's /usr/bin/chromium)
// driven by playwright-core, a page per viewport with what went wrong in it, and the bridge's own
// answers to check the page against. Where no browser exists the tests skip with a notice, unless
// REQUIRE_BROWSER=1 (CI), where a missing browser fails.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { ROOT } from "./local-bridge";

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

export interface ConsolePage {
  page: Page;
  close(): Promise<void>;
  /** Script errors and console errors seen so far. */
  problems: string[];
  requests: { url: string; auth: string | undefined }[];
}

export async function openConsole(browser: Browser, url: string, viewport: { width: number; height: number }): Promise<ConsolePage> {
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
