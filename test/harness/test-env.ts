// The configuration every workerd test runs with, shared by vitest.config.ts and the tests.

export const ROBOT_SECRET = "this is a secret";
export const EVENT_TOKEN = "mryue";
export const EVENT_AES_KEY = "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7";
export const EVENT_OWNER_KEY = "ding6ccabc44d2c8d38b";
export const DEFAULT_TOKENS = ["test-token-a", "test-token-b"];

/** Fresh apps, one per test, so no test sees another's inbox. */
export const SPARE_APPS = Array.from({ length: 60 }, (_, i) => `t${String(i).padStart(2, "0")}`);

/** Spare apps with other ordering than the default (conversation): by sender, and none. */
export const SENDER_ORDERED_APPS = Array.from({ length: 10 }, (_, i) => `os${String(i).padStart(2, "0")}`);
export const UNORDERED_APPS = Array.from({ length: 10 }, (_, i) => `oo${String(i).padStart(2, "0")}`);

/**
 * Apps whose Stream link is on, each with its own credentials at the fake DingTalk. The fake is
 * shared by every test file, so each file takes its own range of these.
 */
export const LINK_APPS = Array.from({ length: 40 }, (_, i) => `l${String(i).padStart(2, "0")}`);

export function linkCredentials(app: string) {
  return { clientId: `link-client-${app}`, clientSecret: `link-secret-${app}` };
}

/** Apps that send through the fake DingTalk's robot API (their Stream link stays off). */
export const SEND_APPS = Array.from({ length: 40 }, (_, i) => `s${String(i).padStart(2, "0")}`);

export function sendCredentials(app: string) {
  return { clientId: `send-client-${app}`, clientSecret: `send-secret-${app}` };
}

export function tokenFor(app: string): string {
  return app === "default" ? DEFAULT_TOKENS[0]! : `token-${app}`;
}

/** `apiBase`: the fake DingTalk the vitest global setup starts for this run. */
export function testBindings(apiBase: string): Record<string, string> {
  const apps: Record<string, unknown> = {
    // Same event key, but its owner key is its client id: the check-value ciphertext must be refused.
    other: {
      clientId: "dingotherclient",
      clientSecret: "other secret",
      eventToken: EVENT_TOKEN,
      eventAesKey: EVENT_AES_KEY,
      consumerTokens: ["token-other"],
    },
    noevents: { clientId: "dingnoevents", clientSecret: ROBOT_SECRET, consumerTokens: ["token-noevents"] },
  };
  for (const name of SPARE_APPS) {
    apps[name] = {
      clientId: `client-${name}`,
      clientSecret: ROBOT_SECRET,
      eventToken: EVENT_TOKEN,
      eventAesKey: EVENT_AES_KEY,
      eventOwnerKey: EVENT_OWNER_KEY,
      consumerTokens: [tokenFor(name)],
    };
  }
  for (const [names, ordering] of [
    [SENDER_ORDERED_APPS, "sender"],
    [UNORDERED_APPS, "off"],
  ] as const) {
    for (const name of names)
      apps[name] = { clientId: `client-${name}`, clientSecret: ROBOT_SECRET, consumerTokens: [tokenFor(name)], ordering };
  }
  for (const name of LINK_APPS) {
    apps[name] = { ...linkCredentials(name), consumerTokens: [tokenFor(name)], streamLink: true };
  }
  for (const name of SEND_APPS) {
    apps[name] = { ...sendCredentials(name), consumerTokens: [tokenFor(name)] };
  }
  // One token per scope, written both ways, and one with every scope.
  apps.scoped = {
    clientId: "client-scoped",
    clientSecret: ROBOT_SECRET,
    consumerTokens: ["drain:tok-drain", "read:tok-read", { token: "tok-send", scopes: ["send"] }, "admin+read:tok-admin", "tok-all"],
  };
  // Credentials the fake DingTalk does not know: its link is refused.
  apps.lrefused = { clientId: "link-client-unknown", clientSecret: "wrong", consumerTokens: [tokenFor("lrefused")], streamLink: true };
  return {
    DINGTALK_API_BASE: apiBase,
    DINGTALK_CLIENT_ID: "dingtestclient",
    DINGTALK_CLIENT_SECRET: ROBOT_SECRET,
    DINGTALK_EVENT_TOKEN: EVENT_TOKEN,
    DINGTALK_EVENT_AES_KEY: EVENT_AES_KEY,
    DINGTALK_EVENT_OWNER_KEY: EVENT_OWNER_KEY,
    BRIDGE_CONSUMER_TOKENS: DEFAULT_TOKENS.join(","),
    BRIDGE_APPS: JSON.stringify(apps),
  };
}
