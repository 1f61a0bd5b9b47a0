// Each test gets app names of its own, and a pool that runs dry fails loudly instead of letting two
// tests share an app. Vitest isolates storage per test file, so spare apps (an inbox and nothing
// else) are counted per file; link and send apps also live at the one fake DingTalk that every
// file shares, so those are claimed from the fake for the whole run.
import { LINK_APPS, SEND_APPS, SENDER_ORDERED_APPS, SPARE_APPS, UNORDERED_APPS } from "../test-env";
import { fake } from "./fake";

const SPARE = {
  conversation: { names: SPARE_APPS, list: "SPARE_APPS", next: 0 },
  sender: { names: SENDER_ORDERED_APPS, list: "SENDER_ORDERED_APPS", next: 0 },
  off: { names: UNORDERED_APPS, list: "UNORDERED_APPS", next: 0 },
};

/**
 * A fresh app for this test: its own inbox object, never shared within the file. Its ordering is
 * the default (by conversation) unless asked for another.
 */
export function freshApp(ordering: keyof typeof SPARE = "conversation"): string {
  const pool = SPARE[ordering];
  const name = pool.names[pool.next++];
  if (name === undefined) throw new Error(dry(`spare (${ordering})`, pool.names.length, pool.list));
  return name;
}

/** An app whose Stream link is on, with credentials at the fake DingTalk no other test uses. */
export function claimLinkApp(): Promise<string> {
  return claim("link", LINK_APPS, "LINK_APPS");
}

/** An app that sends through the fake DingTalk's robot API, with credentials no other test uses. */
export function claimSendApp(): Promise<string> {
  return claim("send", SEND_APPS, "SEND_APPS");
}

async function claim(pool: string, names: readonly string[], listName: string): Promise<string> {
  const { name } = await fake<{ name: string | null }>("claim", { pool, names });
  if (name === null) throw new Error(dry(pool, names.length, listName));
  return name;
}

function dry(pool: string, size: number, listName: string): string {
  return `the ${pool} app pool ran dry: all ${size} names are taken in this run; add names to ${listName} in test/harness/test-env.ts`;
}
