// What `npm run dev` starts, from its arguments and the local settings in .dev.vars: whether a fake
// DingTalk runs beside the bridge, with which apps, and the arguments wrangler dev gets. Pure.

import { SAMPLE_ROBOT_CODE } from "../src/dingtalk/sample-messages";

export const REAL_DINGTALK_FLAG = "--real-dingtalk";

export interface DevPlan {
  /** Apps the fake DingTalk accepts; null: no fake (the flag, or DINGTALK_API_BASE set by hand). */
  fakeApps: { clientId: string; clientSecret: string; robotCode: string }[] | null;
  /** Why there is no fake, to say so. */
  reason: string | null;
  /** Settings the bridge gets pointing at the fake: wrangler dev's --var, besides .dev.vars. */
  vars: (fakeUrl: string) => Record<string, string>;
  wranglerArgs: string[];
}

export function devPlan(args: readonly string[], devVars: Record<string, string>): DevPlan {
  const wranglerArgs = args.filter((a) => a !== REAL_DINGTALK_FLAG);
  const vars = (fakeUrl: string): Record<string, string> => ({
    DINGTALK_API_BASE: fakeUrl,
    // Alerts go to the fake's custom robot webhook too, unless .dev.vars names a sink of its own.
    ...(devVars.ALERT_WEBHOOK_URL ? {} : { ALERT_WEBHOOK_URL: `${fakeUrl}/robot/send?access_token=local-dev` }),
  });
  if (args.includes(REAL_DINGTALK_FLAG)) {
    return { fakeApps: null, reason: `${REAL_DINGTALK_FLAG}: the bridge calls the real DingTalk`, vars, wranglerArgs };
  }
  if (devVars.DINGTALK_API_BASE) {
    return { fakeApps: null, reason: "DINGTALK_API_BASE is set in .dev.vars: the bridge calls it", vars, wranglerArgs };
  }
  return { fakeApps: appsOf(devVars), reason: null, vars, wranglerArgs };
}

/** Every app's credentials in the local settings: the single app's, and each in BRIDGE_APPS. */
function appsOf(devVars: Record<string, string>): NonNullable<DevPlan["fakeApps"]> {
  const apps: NonNullable<DevPlan["fakeApps"]> = [];
  const add = (clientId: unknown, clientSecret: unknown) => {
    if (typeof clientId === "string" && typeof clientSecret === "string" && clientId && clientSecret) {
      // The robotCode `dtbridge simulate`'s messages carry: replies to them go by the fake's robot API too.
      apps.push({ clientId, clientSecret, robotCode: SAMPLE_ROBOT_CODE });
    }
  };
  add(devVars.DINGTALK_CLIENT_ID, devVars.DINGTALK_CLIENT_SECRET);
  let many: unknown = null;
  try {
    many = devVars.BRIDGE_APPS ? JSON.parse(devVars.BRIDGE_APPS) : null;
  } catch {
    // the bridge itself names a malformed BRIDGE_APPS; the fake just knows fewer apps
  }
  if (many && typeof many === "object") {
    for (const app of Object.values(many as Record<string, { clientId?: unknown; clientSecret?: unknown }>)) {
      if (app && typeof app === "object") add(app.clientId, app.clientSecret);
    }
  }
  return apps;
}
