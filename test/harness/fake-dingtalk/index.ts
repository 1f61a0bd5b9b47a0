// A fake DingTalk for tests and demos: Stream gateway, robot send APIs, session webhooks, control API.

export { ROBOT_TOPIC } from "./frames.ts";
export { startFakeDingTalk } from "./server.ts";
export type * from "./types.ts";
