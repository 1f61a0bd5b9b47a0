// The package's public client for gateways written in TypeScript.
export { BridgeClient, type BridgeClientOptions, defaultConsumerId } from "./bridge-client.js";
export { backoffMs, type DrainOptions, type DrainStats, drain, retryDelayMs } from "./drain.js";
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
export { canonicalJson, replyKey } from "./reply-key.js";
export { StreamHealth } from "./stream-health.js";
export type * from "./types.js";
