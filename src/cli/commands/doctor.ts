import type { BridgeClient } from "../../client/bridge-client";
import { BridgeAuthError, BridgeError, BridgeNetworkError } from "../../client/errors";
import type { StatusDocument } from "../../client/types";
import { bridgeUrl, CONNECTION_HELP, type Command, connect, EXIT, intOption, parse, printHelp } from "../common";
import { callbackUrl, judgeProbe, notNeeded, unusable } from "../doctor/callback-url";
import {
  type Diagnosis,
  fail,
  failed,
  type Health,
  isHealth,
  judgeAlertSink,
  judgeConfig,
  judgeCredentials,
  judgeLink,
  judgeOutdated,
  judgeRefusedToken,
  judgeRobotPermission,
  judgeToken,
  pass,
  skip,
} from "../doctor/checks";
import { probeHealth, probeUrl } from "../doctor/probes";
import { Report } from "../doctor/report";

const AFTER = ["config", "credentials", "robot-permission", "link", "callback-url", "alert-sink"] as const;
/** Answers to status after which nothing else can be checked. */
const STOPPING = ["bridge_misconfigured", "bridge_outdated"];

export const doctor: Command = {
  name: "doctor",
  summary: "check a deployment end to end, each line a pass or what to fix",
  help: `Usage: dtbridge doctor [--json] [--public-url URL] [--wait MS]

Checks, in order: the bridge answers /health; the token opens the app (and its scopes); the app's
settings are valid; DingTalk takes the app's credentials (the bridge fetches an access token); the
app may send as the robot (a dry call to the robot API); the bridge's Stream link is open; in HTTP
mode, the public robot callback URL is https, not on workers.dev and reaches the bridge; the alert
sink takes a test alert. DingTalk is called from the bridge itself, so its network and credentials
are what is checked. The DingTalk and sink checks need a token with the admin scope.

Exit ${EXIT.ok} when every check passed (or does not apply), 1 when one failed, 3 when the token was
refused (or the bridge has no such app), 5 when the bridge could not be reached.

Options:
  --json             one JSON object per check on stdout: {check, verdict, detail, fix?}
  --public-url URL   the bridge's public origin to check as DingTalk's callback URL (default: the
                     robot URL the bridge reports, from its PUBLIC_URL or the address it was reached at)
  --wait MS          how long to wait for a link that is still connecting (default 15000)
${CONNECTION_HELP}`,
  async run(argv) {
    const { values } = parse(argv, { json: { type: "boolean" }, "public-url": { type: "string" }, wait: { type: "string" } });
    if (values.help) return printHelp(this.help);
    const client = connect(values);
    const url = bridgeUrl(values);
    const publicUrl = values["public-url"];
    if (publicUrl !== undefined) bridgeUrl({ url: publicUrl });
    const waitMs = intOption(values.wait, "wait", 15_000, 0, 600_000);
    const report = new Report(values.json === true);
    const code = await examine(report, { url, app: client.app, publicUrl, waitMs }, client);
    await report.close();
    return code;
  },
};

interface Target {
  url: string;
  app: string;
  publicUrl: string | undefined;
  waitMs: number;
}

async function examine(report: Report, t: Target, bridge: Pick<BridgeClient, "status" | "diagnose">): Promise<number> {
  const status = () => bridge.status();
  const health = await probeHealth(t.url);
  if ("error" in health) {
    await report.add(
      fail("bridge", `no answer from ${t.url} (${health.error})`, "check --url (DTBRIDGE_URL), that the bridge runs, and the network"),
    );
    return EXIT.network;
  }
  if (!isHealth(health.body)) {
    await report.add(
      fail(
        "bridge",
        `${t.url}/health answers HTTP ${health.status}, but not as the bridge does`,
        "check --url: it is the bridge's base URL",
      ),
    );
    return EXIT.failure;
  }
  await report.add(pass("bridge", `${t.url} answers /health (HTTP ${health.status}, ${health.ms} ms)`));

  let doc: StatusDocument | null = null;
  try {
    doc = await status();
  } catch (error) {
    if (error instanceof BridgeAuthError) {
      await report.add(judgeRefusedToken(t.app, health.body));
      return EXIT.auth;
    }
    if (error instanceof BridgeNetworkError) {
      await report.add(fail("token", `the bridge stopped answering: ${error.message}`, "run doctor again"));
      return EXIT.network;
    }
    if (!(error instanceof BridgeError) || (error.status !== 403 && !STOPPING.includes(error.code))) throw error;
    if (error.status === 403) {
      await report.add(fail("token", error.message, "run doctor with a token that has the admin scope"));
      await report.add(skip("config", "not checked: the token may not read the app's status"));
    } else {
      await report.add(skip("token", `not checked: the app answers ${error.code}`));
      await report.add(error.code === "bridge_outdated" ? judgeOutdated(error.message) : judgeConfig(t.app, health.body, null));
    }
  }
  if (doc === null) {
    for (const check of AFTER.slice(1)) await report.add(skip(check, "not checked"));
    return EXIT.failure;
  }
  const scopes: string[] = doc.token?.scopes ?? [];
  await report.add(judgeToken(scopes));
  await report.add(judgeConfig(t.app, health.body, doc));
  const diagnosis = scopes.includes("admin") ? await bridge.diagnose({ sink: true }).catch(diagnoseFailed) : null;
  await dingtalkLines(report, diagnosis);
  const linkDoc = doc.link?.state === "connecting" ? await linkSettled(status, t.waitMs) : doc;
  await report.add(judgeLink(linkDoc.link, linkDoc.now ?? Date.now()));
  await report.add(await callbackLine(t, doc, health.body));
  await report.add(
    diagnosis === null
      ? skip("alert-sink", "not checked: needs a token with the admin scope")
      : diagnosis instanceof Error
        ? skip("alert-sink", "not checked")
        : judgeAlertSink(diagnosis.alertSink),
  );
  return failed(report.lines) ? EXIT.failure : EXIT.ok;
}

/** The diagnose route itself failed: said on the credentials line, the checks after it not run. */
function diagnoseFailed(error: unknown): Error {
  if (!(error instanceof BridgeError)) throw error;
  return error;
}

async function dingtalkLines(report: Report, diagnosis: Diagnosis | Error | null): Promise<void> {
  if (diagnosis instanceof Error) {
    const old = diagnosis instanceof BridgeError && diagnosis.status === 404;
    await report.add(
      fail(
        "credentials",
        `the bridge's diagnose failed: ${diagnosis.message}`,
        old ? "this bridge is older than doctor (it has no diagnose route): upgrade it" : "look at the bridge's logs; run doctor again",
      ),
    );
    await report.add(skip("robot-permission", "not checked"));
    return;
  }
  if (!diagnosis) {
    await report.add(skip("credentials", "not checked: needs a token with the admin scope"));
    await report.add(skip("robot-permission", "not checked: needs a token with the admin scope"));
    return;
  }
  await report.add(judgeCredentials(diagnosis.accessToken));
  await report.add(judgeRobotPermission(diagnosis.robotPermission, diagnosis.accessToken));
}

/** A link that is still connecting gets `waitMs` to open, asked once a second. */
async function linkSettled(status: () => Promise<StatusDocument>, waitMs: number): Promise<StatusDocument> {
  const deadline = Date.now() + waitMs;
  if (process.stderr.isTTY) process.stderr.write(`dtbridge doctor: the link is connecting; waiting up to ${Math.round(waitMs / 1000)} s\n`);
  for (;;) {
    await new Promise((r) => setTimeout(r, Math.min(1_000, Math.max(0, deadline - Date.now()))));
    const doc = await status();
    if (doc.link?.state !== "connecting" || Date.now() >= deadline) return doc;
  }
}

async function callbackLine(t: Target, doc: StatusDocument, health: Health) {
  const url = callbackUrl(t.app, t.publicUrl, doc.robotUrl, t.url);
  const holdsStream = (doc.link?.state ?? "off") !== "off" || health.apps?.[t.app]?.link !== undefined;
  if (holdsStream && !t.publicUrl) return notNeeded(url);
  return unusable(new URL(url), t.publicUrl ? "given" : "reported") ?? judgeProbe(url, await probeUrl(url));
}
