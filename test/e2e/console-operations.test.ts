// The console's operations in a real headless browser, each checked against the API's own answers:
// replay from a history row and of a conversation, history filters and paging, the outbox by fate
// with a queued send cancelled, and tokens of each scope seeing only what they may do. Sends go to
// the fake DingTalk, which refuses one and keeps two queued.
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { sampleRobotMessage } from "../../src/dingtalk/sample-messages";
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
  PHONE,
  signIn,
  startConsoleRig,
  text,
  tileValue,
} from "../harness/console-browser";
import { ROOT } from "../harness/local-bridge";

const TOKENS = { read: "console-read-only-token", drain: "console-drain-only-token", send: "console-send-only-token" };
const GROUP = "cidGroupSample+/="; // the sample group: "+", "/" and "=" must survive the query string
const OTHER = { msgId: "msg-console-other-sender", sender: "staff-other" };

describeInBrowser("the console's operations", () => {
  let rig: ConsoleRig;
  let api: BridgeApi;
  let admin: ConsolePage;
  let page: Page;

  const send = (key: string) =>
    fetch(`${rig.bridge.url}/v1/default/send`, {
      method: "POST",
      headers: { authorization: `Bearer ${LOCAL.token}`, "content-type": "application/json" },
      body: JSON.stringify({ to: { openConversationId: "cidOutbox==" }, message: { msgtype: "text", text: { content: key } }, key }),
    });

  beforeAll(async () => {
    const tokens = `${LOCAL.token},read:${TOKENS.read},drain:${TOKENS.drain},send:${TOKENS.send}`;
    rig = await startConsoleRig({ settings: { BRIDGE_CONSUMER_TOKENS: tokens }, vars: { MAX_ATTEMPTS: "1" } });
    api = rig.api;

    const sent = await runCli(["simulate", "--count", "30", "--concurrency", "4"], cliEnv(rig.bridge.url));
    expect(sent.code, sent.stderr).toBe(0);
    const other = {
      ...sampleRobotMessage({ msgtype: "text", text: "from someone else", msgId: OTHER.msgId }, 0),
      senderStaffId: OTHER.sender,
    };
    expect((await rig.callback(JSON.stringify(other))).status).toBe(200);
    // A gateway takes and acks them all; the next message it gives up on (MAX_ATTEMPTS=1: a dead letter).
    for (;;) {
      const got = await api("pull", { max: 100, consumer: "console-ops" });
      if (!got.events.length) break;
      await api("ack", { leaseIds: got.events.map((e: any) => e.leaseId) });
    }
    expect((await runCli(["simulate", "--count", "1"], cliEnv(rig.bridge.url))).code).toBe(0);
    const last = await api("pull", { max: 1, consumer: "console-ops" });
    await api("nack", { leaseIds: last.events.map((e: any) => e.leaseId), reason: "handler crashed (console test)" });
    // Sends: one refused by DingTalk, one sent, two kept queued while DingTalk answers 503.
    rig.dingtalk.failNext("groupSend", 1, { status: 400 });
    expect((await send("refused-1")).status).toBe(502);
    expect((await send("sent-1")).status).toBe(200);
    rig.dingtalk.failNext("groupSend", 1000, { status: 503 });
    for (const key of ["queued-1", "queued-2"]) expect((await send(key)).status).toBe(202);

    admin = await rig.signedIn(LOCAL.token, DESKTOP, "#history-list > li");
    page = admin.page;
  });

  afterAll(async () => {
    await rig?.close();
  });

  const seqs = (p: Page) => attributes(p, "#history-list > li", "data-seq");
  const seqsOf = async (path: string) => (await api(path)).events.map((e: any) => String(e.seq));
  const keys = (p: Page) => attributes(p, "#sends > li", "data-key");
  const keysOf = async (path: string) => (await api(path)).sends.map((s: any) => s.key);

  it("says what the token may do, and replays one delivered event from its row after asking", async () => {
    expect(await attributes(page, "[data-scopes]", "data-scopes")).toEqual([(await api("status")).token.scopes.join(" ")]);
    expect(await page.locator("li[data-state=dead] [data-action=replay]").isDisabled()).toBe(true);
    const row = page.locator("#history-list > li[data-state=acked]").first();
    const [id, key] = [await row.getAttribute("data-id"), await row.getAttribute("data-ordering-key")];

    let asked = answerNextConfirm(page, false);
    await row.locator("[data-action=replay]").click();
    expect(await asked).toMatch(/^Replay event #\d+ as a new delivery\?/);
    expect((await api("events?order=desc&limit=100")).events.some((e: any) => e.replayOf)).toBe(false);

    asked = answerNextConfirm(page, true);
    await row.locator("[data-action=replay]").click();
    await asked;
    await expect.poll(() => text(page, "#history-note")).toContain("Replayed 1 event as a new delivery at");
    const [copy] = (await api("events?order=desc&limit=1")).events;
    expect([copy.replayOf, copy.orderingKey, copy.state]).toEqual([id, key, "ready"]);
    await expect.poll(() => attributes(page, "#history-list > li:first-child", "data-replay-of")).toEqual([id]);
    expect(await page.locator("#transitions > li[data-subject=replay]").count()).toBe(1);
  });

  it("narrows history to a conversation, a message or a sender, and replays a conversation after asking", async () => {
    await page.locator(`#history-list > li[data-ordering-key="${GROUP}"] [data-action=conversation]`).first().click();
    const path = `events?order=desc&limit=25&conversationId=${encodeURIComponent(GROUP)}`;
    await expect.poll(() => seqs(page)).toEqual(await seqsOf(path));
    expect(await page.inputValue("#history-filter [name=conversationId]")).toBe(GROUP);
    expect(new Set(await attributes(page, "#history-list > li", "data-ordering-key"))).toEqual(new Set([GROUP]));

    const shown = (await api(path)).events;
    const delivered = shown.filter((e: any) => e.state === "acked").length;
    const [from, to] = [Math.min(...shown.map((e: any) => e.seq)), Math.max(...shown.map((e: any) => e.seq))];
    const asked = answerNextConfirm(page, true);
    await page.click("[data-action=replay-conversation]");
    expect(await asked).toContain(`conversation "${GROUP}" from #${from} to #${to}`);
    await expect.poll(() => text(page, "#history-note")).toContain(`Replayed ${delivered} events as new deliveries`);
    const after = (await api(path)).events;
    expect(after.filter((e: any) => e.replayOf).length).toBe(delivered);
    await expect.poll(() => seqs(page)).toEqual(after.map((e: any) => String(e.seq)));

    // One message, then one sender, typed into the form.
    await page.click("#history-filter [type=reset]");
    await page.fill("#history-filter [name=msgId]", OTHER.msgId);
    await page.click("#history-filter [type=submit]");
    await expect.poll(() => seqs(page)).toEqual(await seqsOf(`events?order=desc&limit=25&msgId=${OTHER.msgId}`));
    expect((await seqs(page)).length).toBe(1);
    await page.click("#history-filter [type=reset]");
    await page.fill("#history-filter [name=sender]", OTHER.sender);
    await page.click("#history-filter [type=submit]");
    await expect.poll(() => seqs(page)).toEqual(await seqsOf(`events?order=desc&limit=25&sender=${OTHER.sender}`));
    expect(await text(page, "#history-list")).toContain("from someone else");
  });

  it("pages through history from a seq, next and previous, and back to the newest", async () => {
    await page.click("#history-filter [type=reset]");
    await page.fill("#history-filter [name=afterSeq]", "0");
    await page.click("#history-filter [type=submit]");
    const first = await api("events?afterSeq=0&limit=25");
    await expect.poll(() => seqs(page)).toEqual(first.events.map((e: any) => String(e.seq)));
    expect(await page.locator("[data-action=previous]").isDisabled()).toBe(true);

    await page.click("[data-action=next]");
    const second = await seqsOf(`events?afterSeq=${first.nextAfterSeq}&limit=25`);
    expect(second.length).toBeGreaterThan(0);
    await expect.poll(() => seqs(page)).toEqual(second);
    expect(await page.inputValue("#history-filter [name=afterSeq]")).toBe(String(first.nextAfterSeq));

    await page.click("[data-action=previous]");
    await expect.poll(() => seqs(page)).toEqual(first.events.map((e: any) => String(e.seq)));
    await page.click("[data-action=newest]");
    await expect.poll(() => seqs(page)).toEqual(await seqsOf("events?order=desc&limit=25"));
    expect(await page.locator("[data-action=newest]").isDisabled()).toBe(true);
  });

  it("lists sends by fate, and cancels a queued one after asking", async () => {
    await expect.poll(() => keys(page)).toEqual(await keysOf("outbox?limit=50"));
    await page.selectOption("#outbox-state", "queued");
    await expect.poll(() => keys(page)).toEqual(await keysOf("outbox?state=queued&limit=50"));
    expect((await keys(page)).sort()).toEqual(["queued-1", "queued-2"]);

    const cancel = page.locator('#sends > li[data-key="queued-1"] [data-action=cancel]');
    let asked = answerNextConfirm(page, false);
    await cancel.click();
    expect(await asked).toContain('Cancel the queued send "queued-1"?');
    expect((await api("send/queued-1")).state).toBe("queued");
    asked = answerNextConfirm(page, true);
    await cancel.click();
    await asked;
    await expect.poll(() => text(page, "#outbox-note")).toContain('Cancelled "queued-1"');
    expect((await api("send/queued-1")).state).toBe("cancelled");
    await expect.poll(() => keys(page)).toEqual(["queued-2"]);

    await page.selectOption("#outbox-state", "cancelled");
    await expect.poll(() => keys(page)).toEqual(["queued-1"]);
    await page.selectOption("#outbox-state", "refused");
    await expect.poll(() => keys(page)).toEqual(["refused-1"]);
    const [refused] = (await api("outbox?state=refused")).sends;
    expect(await text(page, "#sends")).toContain(refused.dingtalkCode);

    const s = await api("status");
    expect(s.dingtalkApi.thisMonth).toBeGreaterThan(0);
    expect(await text(page, 'dd[data-field="dingtalkApi"]')).toContain(`${s.dingtalkApi.thisMonth} of ${s.dingtalkApi.monthlyQuota}`);
    await page.selectOption("#outbox-state", "");
    await page.screenshot({ path: join(ARTIFACTS, "operations.png"), fullPage: true });
    expect(admin.problems).toEqual([]);
    await admin.close();
  });

  it("shows a read-only token everything, and offers it nothing to change", async () => {
    const phone = await rig.signedIn(TOKENS.read, PHONE, "#history-list > li");
    expect(await attributes(phone.page, "[data-scopes]", "data-scopes")).toEqual(["read"]);
    expect(await text(phone.page, "#token")).toContain("replay, cancel, redrive and purge need admin");
    expect(await seqs(phone.page)).toEqual(await seqsOf("events?order=desc&limit=25"));
    expect(await phone.page.locator("#dead-letter-list > li").count()).toBe(1);
    await expect.poll(() => keys(phone.page)).toEqual(await keysOf("outbox?limit=50"));
    const changes =
      "[data-action=replay], [data-action=replay-conversation], [data-action=cancel], [data-action^=redrive], [data-action^=purge]";
    expect(await phone.page.locator(`${changes}, #dead-letter-list input`).count()).toBe(0);

    // Reading is still everything: a conversation's history, on a phone.
    const row = phone.page
      .locator("#history-list > li")
      .filter({ has: phone.page.locator("[data-action=conversation]") })
      .first();
    const conversation = (await api(`events?limit=1&afterSeq=${Number(await row.getAttribute("data-seq")) - 1}`)).events[0].payload
      .conversationId;
    await row.locator("[data-action=conversation]").click();
    const path = `events?order=desc&limit=25&conversationId=${encodeURIComponent(conversation)}`;
    await expect.poll(() => seqs(phone.page)).toEqual(await seqsOf(path));
    expect(await phone.page.locator("#history-list [data-action=conversation]").count()).toBe(0);
    expect(await phone.page.locator(changes).count()).toBe(0);
    await expectNoSideways(phone.page);
    await phone.page.screenshot({ path: join(ARTIFACTS, "phone-read-only.png"), fullPage: true });
    expect(phone.problems).toEqual([]);
    await phone.close();
  });

  it("shows a drain-only token what status says, and why the rest is missing, without asking for it", async () => {
    const drain = await rig.signedIn(TOKENS.drain, DESKTOP, "#routing .tile");
    expect(await tileValue(drain.page, "depth")).toBe(String((await api("status")).depth));
    expect(await text(drain.page, "#token")).toContain("history, dead letters and the outbox list need read");
    expect(await text(drain.page, "#history-note")).toContain("need the read scope");
    expect(await drain.page.locator("#history-filter").isVisible()).toBe(false);
    expect(await text(drain.page, "#outbox")).toContain("listing by fate needs the read scope");
    expect(drain.requests.filter((r) => /\/(events|dead-letters|outbox)\b/.test(r.url))).toEqual([]);
    expect(drain.problems).toEqual([]);
    await drain.close();
  });

  it("refuses a send-only token at sign-in, saying what the console needs", async () => {
    const sender = await rig.open(DESKTOP);
    await signIn(sender.page, TOKENS.send);
    await expect.poll(() => text(sender.page, "#sign-in-error")).toContain("needs the drain or read scope");
    expect(await sender.page.locator("#board").isVisible()).toBe(false);
    await sender.close();
  });

  it("skips with a notice where no browser exists, and fails instead under REQUIRE_BROWSER=1", async () => {
    const run = (extra: NodeJS.ProcessEnv) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const args = ["run", "-c", "vitest.e2e.config.ts", "test/e2e/console-operations.test.ts"];
        const env = { ...process.env, CHROMIUM_PATH: "/nonexistent/chromium", REQUIRE_BROWSER: "", ...extra };
        const child = spawn(join(ROOT, "node_modules/.bin/vitest"), args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (out += d));
        child.on("close", (code) => resolve({ code, out }));
      });
    const [skipped, required] = await Promise.all([run({}), run({ REQUIRE_BROWSER: "1" })]);
    expect(skipped.code, skipped.out).toBe(0);
    expect(skipped.out).toContain("No Chromium at /nonexistent/chromium: the console's browser tests are SKIPPED");
    expect(skipped.out).toMatch(/\d+ skipped/);
    expect(required.code, required.out).toBe(1);
    expect(required.out).toContain("REQUIRE_BROWSER=1");
    expect(required.out).toContain("No Chromium at /nonexistent/chromium");
  });
});
