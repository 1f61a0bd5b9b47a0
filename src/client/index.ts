// The package's public client for gateways written in TypeScript.
export { BridgeClient, type BridgeClientOptions, defaultConsumerId } from "./bridge-client";
export { drain, backoffMs, retryDelayMs, type DrainOptions, type DrainStats } from "./drain";
export {
  BridgeAuthError,
  BridgeError,
  BridgeNetworkError,
  BridgeNotFoundError,
  BridgeRequestError,
  BridgeSendRefusedError,
  BridgeServerError,
} from "./errors";
export { canonicalJson, replyKey } from "./reply-key";
export { StreamHealth } from "./stream-health";
export type * from "./types";
