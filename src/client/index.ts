// The package's public client for gateways written in TypeScript.
export { BridgeClient, type BridgeClientOptions, defaultConsumerId } from "./bridge-client.js";
export { type DrainClient, type DrainOptions, type DrainStats, drain } from "./drain.js";
export {
  BridgeAuthError,
  BridgeError,
  BridgeNetworkError,
  BridgeNotFoundError,
  BridgeRequestError,
  BridgeSendFailedError,
  BridgeSendRefusedError,
  BridgeServerError,
} from "./errors.js";
export { payloadText } from "./payload-text.js";
export { canonicalJson, replyKey } from "./reply-key.js";
export { StreamHealth } from "./stream-health.js";
export { backoffMs, retryDelayMs } from "./timing.js";
export type * from "./types.js";
