// What `dtbridge doctor` concludes from the bridge's answers: one line per check, a pass or what to
// fix. Pure: probes.ts asks the bridge, the command prints.
import type { DiagnoseCheck as Check, Diagnosis, StatusDocument } from "../../client/types";

export type { Diagnosis };

export type CheckName = "bridge" | "token" | "config" | "credentials" | "robot-permission" | "link" | "callback-url" | "alert-sink";

export interface CheckLine {
  check: CheckName;
  verdict: "pass" | "fail" | "skip";
  detail: string;
  /** What to do, for a failed check. */
  fix?: string;
}

/** `GET /health`, as the bridge answers it. */
export interface Health {
  ok: boolean;
  apps?: Record<string, { config: "ok" | "broken"; inbox?: "ok" | "unreachable"; link?: string }>;
  settingsFellBack?: number;
}

export const pass = (check: CheckName, detail: string): CheckLine => ({ check, verdict: "pass", detail });
export const fail = (check: CheckName, detail: string, fix: string): CheckLine => ({ check, verdict: "fail", detail, fix });
export const skip = (check: CheckName, detail: string): CheckLine => ({ check, verdict: "skip", detail });

export function isHealth(body: unknown): body is Health {
  return typeof body === "object" && body !== null && typeof (body as Health).ok === "boolean";
}

/** The token opens the app; doctor's DingTalk checks need `admin`. */
export function judgeToken(scopes: readonly string[]): CheckLine {
  const list = scopes.join(", ") || "none";
  if (scopes.includes("admin")) return pass("token", `accepted; its scopes: ${list}`);
  return fail(
    "token",
    `accepted, but its scopes (${list}) lack admin, which the DingTalk and alert sink checks need`,
    "run doctor with a token that has the admin scope (a bare token in BRIDGE_CONSUMER_TOKENS has every scope; or admin+read:<token>)",
  );
}

/** A token refused with 401: a wrong token, or an app this bridge does not have. */
export function judgeRefusedToken(app: string, health: Health): CheckLine {
  const apps = Object.keys(health.apps ?? {}).sort();
  if (apps.length && !apps.includes(app)) {
    return fail("token", `this bridge has no app named "${app}" (it has: ${apps.join(", ")})`, "pass --app NAME, or set DTBRIDGE_APP");
  }
  return fail(
    "token",
    `the bridge refused the token for app "${app}"`,
    "use one of the app's consumer tokens (BRIDGE_CONSUMER_TOKENS, or consumerTokens in BRIDGE_APPS); pass --token or set DTBRIDGE_TOKEN",
  );
}

const SETTING_FIX =
  "correct them where the deployment's settings live (wrangler.production.toml [vars], or the env file); meanwhile the bridge runs on the defaults";

/** The app's settings as /health and status see them. */
export function judgeConfig(app: string, health: Health, status: StatusDocument | null): CheckLine {
  const entry = health.apps?.[app];
  if (entry?.config === "broken" || status === null) {
    return fail(
      "config",
      `the settings of app "${app}" are broken, so the app takes no messages`,
      "the bridge's logs name the setting (config_error; on Cloudflare: npx wrangler tail); fix it and deploy again",
    );
  }
  if (entry?.inbox === "unreachable") {
    return fail(
      "config",
      `the inbox of app "${app}" did not answer /health`,
      "look for errors in the bridge's logs; run doctor again in a minute",
    );
  }
  const problems: { setting: string; problem: string }[] = status.config?.problems ?? [];
  if (problems.length) {
    const list = problems.map((p) => `${p.setting}: ${p.problem}`).join("; ");
    return fail("config", `${problems.length} setting(s) fell back to their defaults: ${list}`, SETTING_FIX);
  }
  return pass("config", `app "${app}" is configured, its inbox answers`);
}

/** The app's storage was written by a newer bridge than the one running: a rollback after an upgrade. */
export function judgeOutdated(message: string): CheckLine {
  return fail(
    "config",
    message,
    "deploy the version that wrote the storage, or a newer one: a bridge never runs on a schema newer than it knows (README: Upgrading)",
  );
}

/** DingTalk took the app's credentials: the bridge fetched an access token. */
export function judgeCredentials(check: Check): CheckLine {
  if (check.ok) return pass("credentials", check.detail);
  const fix = /IpNotInWhiteList|ip.*(allow|white)/i.test(check.detail)
    ? "the app restricts DingTalk API calls to its server egress IPs (服务器出口IP): Workers have no fixed address, so lift the restriction, or run the bridge on your own server (dtbridge serve) and add its address"
    : /invalidClient|appkey|secret|credential|authentication/i.test(check.detail)
      ? "check DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET (or clientId and clientSecret in BRIDGE_APPS) against the app's Client ID and Client Secret in the DingTalk developer console"
      : "the bridge could not reach DingTalk's API: check DINGTALK_API_BASE and the bridge's network; run doctor again";
  return fail("credentials", check.detail, fix);
}

export function judgeRobotPermission(check: Check, credentials: Check): CheckLine {
  if (!credentials.ok) return skip("robot-permission", "not checked: DingTalk issued no access token");
  if (check.ok) return pass("robot-permission", check.detail);
  return fail(
    "robot-permission",
    check.detail,
    "in the DingTalk developer console, open the app → 权限管理 (Permissions), grant 企业内机器人发送消息权限 (qyapi_robot_sendmsg) and publish the app: without it, replies work only through session webhooks",
  );
}

/** The bridge's own Stream link, from status's `link`. */
export function judgeLink(link: StatusDocument | undefined, now: number): CheckLine {
  const state: string = link?.state ?? "off";
  const error = link?.lastError ? `: ${link.lastError}` : "";
  switch (state) {
    case "off":
      return skip("link", "off: DingTalk delivers over HTTP callbacks, or to a gateway's own Stream connection");
    case "open": {
      const frame = typeof link?.lastFrameAt === "number" ? `, last frame ${Math.round((now - link.lastFrameAt) / 1000)} s ago` : "";
      return pass("link", `open${frame}`);
    }
    case "refused":
      return fail(
        "link",
        `DingTalk refused to open the link${error}`,
        "check the app's Client ID and Client Secret, and that its robot receives in Stream mode (机器人 → 消息接收模式 → Stream模式); the link retries every 10 minutes",
      );
    case "connecting":
      return fail(
        "link",
        `still connecting${error}`,
        "run doctor again in a minute; if it stays so, look at the link's errors in dtbridge status",
      );
    default:
      return fail(
        "link",
        `${state}${error}`,
        "the link waits and retries by itself within its budget (3 opens in 10 minutes, 10 an hour); dtbridge status shows its opens and errors",
      );
  }
}

export function judgeAlertSink(check: Check | null): CheckLine {
  if (check === null) return skip("alert-sink", "not checked");
  if (check.ok) return pass("alert-sink", `${check.detail} (look for "A test alert from dtbridge doctor")`);
  if (/no alert sink is configured/i.test(check.detail)) {
    return fail(
      "alert-sink",
      "no alert sink is set: incidents (a stuck Stream, no consumer, a send given up) are only logged",
      "set ALERT_WEBHOOK_URL (a DingTalk custom robot's webhook .../robot/send?access_token=..., or any URL that takes JSON) and ALERT_WEBHOOK_SECRET for a signed robot, as secrets",
    );
  }
  const fix = /errcode 310000/.test(check.detail)
    ? "the robot's signature check failed: set ALERT_WEBHOOK_SECRET to the robot's signing secret (加签)"
    : "check ALERT_WEBHOOK_URL (and ALERT_WEBHOOK_SECRET for a signed DingTalk robot); the sink must answer 2xx within 5 s";
  return fail("alert-sink", `the alert sink did not take a test alert: ${check.detail}`, fix);
}

/** The exit code for a finished run: any failed check is 1. */
export function failed(lines: readonly CheckLine[]): boolean {
  return lines.some((l) => l.verdict === "fail");
}
