// The vitest global setup for the workerd tests: one fake DingTalk for the whole run, on the port
// the config chose (the Worker's DINGTALK_API_BASE points at it), its URL provided to the tests.
import type { TestProject } from "vitest/node";
import { LINK_APPS, linkCredentials, SEND_APPS, sendCredentials } from "../test-env.ts";
import { startFakeDingTalk } from "./server.ts";

export default async function setup(project: TestProject) {
  const port = Number(process.env.FAKE_DINGTALK_PORT);
  const fake = await startFakeDingTalk({
    port,
    apps: [...LINK_APPS.map(linkCredentials), ...SEND_APPS.map(sendCredentials)],
    pingIntervalMs: 1_000,
    redeliverAfterMs: 3_000,
    disconnectGraceMs: 1_000,
  });
  project.provide("fakeDingTalkUrl", fake.url);
  return () => fake.close();
}
